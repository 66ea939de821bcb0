import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { IBUG68, IBUG68_TEMPLATE } from "@lml/core";
import { beforeAll, describe, expect, it } from "vitest";
import { LabelTransferUNet } from "../src/adaptation/transfer";
import { softArgmax } from "../src/backend/ops";
import type { BatchSource } from "../src/data";
import { selectSubset } from "@lml/core";
import { applyMlp, fitTestTimeMlp, predictSplit, scoreShapes } from "../src/evaluate";
import { createHourglass } from "../src/model";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** The iBug68 template placed in a 64-pixel image: x·s + o. */
function face(scale: number, ox: number, oy: number): Float32Array {
  const t = IBUG68_TEMPLATE;
  let x0 = Infinity,
    x1 = -Infinity;
  for (let i = 0; i < 68; i++) {
    x0 = Math.min(x0, t[2 * i]);
    x1 = Math.max(x1, t[2 * i]);
  }
  const s = scale / (x1 - x0);
  return Float32Array.from(t, (v, k) => (k % 2 === 0 ? (v - x0) * s + ox : (v - x0) * s + oy));
}

describe("scoring", () => {
  it("gives the hand-computed NME of a hand-built prediction", () => {
    const a = face(40, 12, 10);
    const b = face(30, 17, 15);
    const gt = new Float32Array([...a, ...b]);
    // Image a: every point off by (3, 4) → 5 px; image b: perfect except point 30 off by 6 px in x.
    const pred = Float32Array.from(gt);
    for (let i = 0; i < 68; i++) {
      pred[2 * i] += 3;
      pred[2 * i + 1] += 4;
    }
    pred[136 + 60] += 6;
    const io = (s: Float32Array) => Math.hypot(s[72] - s[90], s[73] - s[91]); // points 36 and 45
    const eye = (s: Float32Array, from: number) => {
      let x = 0,
        y = 0;
      for (let i = from; i < from + 6; i++) {
        x += s[2 * i] / 6;
        y += s[2 * i + 1] / 6;
      }
      return [x, y];
    };
    const ip = (s: Float32Array) => {
      const [ax, ay] = eye(s, 36);
      const [bx, by] = eye(s, 42);
      return Math.hypot(ax - bx, ay - by);
    };
    const want = {
      "inter-ocular": [(100 * 5) / io(a), (100 * 6) / 68 / io(b)],
      "inter-pupil": [(100 * 5) / ip(a), (100 * 6) / 68 / ip(b)],
    };
    const recs = scoreShapes("common", "direct", pred, gt, gt, 68);
    expect(recs.map((r) => r.norm)).toEqual(["inter-pupil", "inter-ocular"]);
    for (const r of recs) {
      const [wa, wb] = want[r.norm];
      expect(r.perImage[0]).toBeCloseTo(wa, 4);
      expect(r.perImage[1]).toBeCloseTo(wb, 4);
      expect(r.nme).toBeCloseTo((wa + wb) / 2, 4);
      expect(r.count).toBe(2);
      expect(r).toMatchObject({ testSet: "common", protocol: "direct" });
      expect(r.perLandmark[30]).toBeCloseTo((wa + (100 * 6) / (r.norm === "inter-ocular" ? io(b) : ip(b))) / 2, 4);
    }
  });

  it("normalises dense shapes by the face's 68 GT points", () => {
    const g68 = face(40, 12, 10);
    const dense = new Float32Array([10, 10, 20, 20, 30, 30]); // 3 dense points
    const pred = Float32Array.from(dense, (v, k) => (k === 0 ? v + 2 : v));
    const [ip, io] = scoreShapes("synthetic-test", "dense", pred, dense, g68, 3);
    const d = Math.hypot(g68[72] - g68[90], g68[73] - g68[91]);
    expect(io.nme).toBeCloseTo((100 * 2) / 3 / d, 4);
    expect(ip.nme).toBeGreaterThan(io.nme); // pupils are closer than outer corners
    expect(Array.from(selectSubset(dense, 3, Int32Array.from([2, 0])))).toEqual([30, 30, 10, 10]);
  });
});

describe("test-time MLP", () => {
  it("learns a systematic definition offset that the nearest subset cannot", { timeout: 60_000 }, async () => {
    // 40 training faces whose "dense" prediction (70 points) is the GT moved by a point-dependent offset.
    const count = 40;
    const subset = Int32Array.from({ length: 68 }, (_, i) => i);
    const make = (seed: number) => {
      const gt68: number[] = [];
      const pred: number[] = [];
      for (let f = 0; f < count; f++) {
        const s = face(30 + ((f * 7 + seed) % 10), 10 + ((f * 3 + seed) % 8), 12 + ((f * 5) % 6));
        gt68.push(...s);
        for (let i = 0; i < 68; i++) pred.push(s[2 * i] + (i < 17 ? 3 : 0), s[2 * i + 1] - (i < 17 ? 2 : 0));
        pred.push(0, 0, 64, 64); // two extra dense points
      }
      return { count, points: 70, pred: Float32Array.from(pred), gt: Float32Array.from(gt68), gt68: Float32Array.from(gt68) };
    };
    const train = make(0);
    const test = make(1);
    // A timer (the worker's lease heartbeat, in production) must get to run while the MLP trains.
    let ticks = 0;
    const heartbeat = setInterval(() => ticks++, 0);
    const mlp = await fitTestTimeMlp(train, subset, { side: 64, epochs: 60, hidden: 32, seed: 1, batchSize: 20, lr: 5e-3 });
    clearInterval(heartbeat);
    expect(ticks).toBeGreaterThan(0);
    const mapped = applyMlp(mlp, test.pred, 70, 64);
    const before = scoreShapes("common", "nearest-subset", selectSubset(test.pred, 70, subset), test.gt, test.gt68, 68)[1].nme;
    const after = scoreShapes("common", "test-time-mlp", mapped, test.gt, test.gt68, 68)[1].nme;
    expect(after).toBeLessThan(before * 0.6);
    mlp.dispose();
  });
});

describe("direct protocol", () => {
  it("runs the U-Net label-transfer head on the model's last heatmaps", async () => {
    const side = 16;
    const model = createHourglass(
      { inputSize: side, inputChannels: 1, stacks: 1, channels: 8, depth: 1, blocks: 1, heatmapSize: 4, landmarks: 10 },
      1,
    );
    const subset = Int32Array.from({ length: 68 }, (_, i) => i % 10);
    const transfer = new LabelTransferUNet(10, subset, 4, 2);
    const images = Float32Array.from({ length: 3 * side * side }, (_, i) => (i % 7) / 7);
    const source: BatchSource = {
      name: "fixed",
      length: 3,
      points: 10,
      batches: () => [
        { size: 3, images, landmarks: new Float32Array(60), visible: new Float32Array(30), landmarks68: new Float32Array(408) },
      ],
    };
    const p = await predictSplit(model, source, { side, channels: 1, batchSize: 3, transfer });
    const want = tf.tidy(() => {
      const hm = model.forward(tf.tensor4d(images, [3, side, side, 1]), false).heatmaps[0];
      return tf.mul(softArgmax(transfer.heatmaps(hm)), side).dataSync();
    });
    expect(p.direct).toHaveLength(3 * 68 * 2);
    p.direct!.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    model.dispose();
    transfer.dispose();
  });
});

describe("inference batches (eval.batchSize)", () => {
  it("change speed, not the predictions", async () => {
    const side = 16;
    const model = createHourglass(
      { inputSize: side, inputChannels: 1, stacks: 1, channels: 8, depth: 1, blocks: 1, heatmapSize: 4, landmarks: 10 },
      3,
    );
    const n = 7;
    const images = Float32Array.from({ length: n * side * side }, (_, i) => ((i * 13) % 17) / 17);
    // A split that honours the batch size it is asked for, as the real ones do.
    const source: BatchSource = {
      name: "fixed",
      length: n,
      points: 10,
      *batches(bs) {
        for (let s = 0; s < n; s += bs) {
          const size = Math.min(bs, n - s);
          const plane = side * side;
          yield {
            size,
            images: images.slice(s * plane, (s + size) * plane),
            landmarks: new Float32Array(size * 20),
            visible: new Float32Array(size * 10),
            landmarks68: new Float32Array(size * 136),
          };
        }
      },
    };
    const at = async (batchSize: number) => Array.from((await predictSplit(model, source, { side, channels: 1, batchSize })).pred);
    const whole = await at(7);
    expect(whole).toHaveLength(n * 10 * 2);
    expect(await at(2)).toEqual(whole);
    expect(await at(32)).toEqual(whole);
    model.dispose();
  });
});

describe("flip-test (eval.flipTest)", () => {
  it("is exactly mirror-equivariant: the mirrored image gives the mirrored points", async () => {
    const side = 16;
    const model = createHourglass(
      { inputSize: side, inputChannels: 1, stacks: 1, channels: 8, depth: 1, blocks: 1, heatmapSize: 4, landmarks: 68 },
      5,
    );
    const n = 3;
    const images = Float32Array.from({ length: n * side * side }, (_, i) => ((i * 29) % 31) / 31);
    const mirrored = Float32Array.from(images, (_, i) => {
      const img = Math.floor(i / (side * side));
      const y = Math.floor((i % (side * side)) / side);
      const x = i % side;
      return images[img * side * side + y * side + (side - 1 - x)];
    });
    const split = (px: Float32Array): BatchSource => ({
      name: "fixed",
      length: n,
      points: 68,
      *batches() {
        yield {
          size: n,
          images: px,
          landmarks: new Float32Array(n * 136),
          visible: new Float32Array(n * 68),
          landmarks68: new Float32Array(n * 136),
        };
      },
    });
    const flip = { mirror: IBUG68.mirror, mirror68: IBUG68.mirror };
    const opts = { side, channels: 1, batchSize: n, flip };
    const a = (await predictSplit(model, split(images), opts)).pred;
    const b = (await predictSplit(model, split(mirrored), opts)).pred;
    // b's points mirrored back: point i is its twin's, x → side − x.
    const back = Float32Array.from(b, (_, k) => {
      const s = Math.floor(k / 136);
      const i = Math.floor((k % 136) / 2);
      const j = s * 136 + 2 * IBUG68.mirror[i] + (k % 2);
      return k % 2 === 0 ? side - b[j] : b[j];
    });
    for (let k = 0; k < a.length; k++) expect(back[k]).toBeCloseTo(a[k], 4);
    // Without flip-test a (random) model is not equivariant: the check above means something.
    const plain = (await predictSplit(model, split(images), { side, channels: 1, batchSize: n })).pred;
    expect(Math.max(...plain.map((v, k) => Math.abs(v - a[k])))).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
