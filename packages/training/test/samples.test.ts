// Sample-prediction strips: the PNG's geometry, that the dots land on the points (read back from the
// decoded pixels), and that the final evaluation hands over the right images, GT and protocol.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { IBUG68_TEMPLATE } from "@lml/core";
import sharp from "sharp";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Batch, BatchSource } from "../src/data";
import { evaluateModel } from "../src/evaluate";
import { createHourglass } from "../src/model";
import { GT_COLOUR, PRED_COLOUR, renderSampleStrip, sampleArtifacts, type SampleSet } from "../src/samples";

vi.setConfig({ testTimeout: 60_000 });

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

async function decode(png: Uint8Array) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) =>
    Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  return { info, at };
}

/** `count` flat grey (0.5) images of `side` px, one channel. */
function greySet(count: number, side: number, gt: number[][], pred: number[][]): SampleSet {
  return {
    testSet: "common",
    protocol: "test-time-mlp",
    count,
    side,
    channels: 1,
    images: new Float32Array(count * side * side).fill(0.5),
    gt: Float32Array.from(gt.flat(2)),
    gtPoints: gt[0].length / 2,
    pred: Float32Array.from(pred.flat(2)),
    predPoints: pred[0].length / 2,
  };
}

describe("renderSampleStrip", () => {
  // Three 16-px faces, two points each; scale 4 and a 1-px gap → tiles start at 0, 68 and 136 output px.
  const gt = [
    [4.5, 4.5, 12.5, 8.5],
    [8.5, 8.5, 2.5, 13.5],
    [3.5, 12.5, 12.5, 3.5],
  ];
  // Tile 0's second prediction lies outside its face (x = 18): it must not bleed into tile 1.
  const pred = [
    [10.5, 4.5, 18, 8.5],
    [8.5, 2.5, 13.5, 13.5],
    [7.5, 7.5, 0.5, 0.5],
  ];
  const set = greySet(3, 16, gt, pred);

  it("is one RGB PNG of count tiles upscaled 4x with 1-px gaps, dots on the GT and predicted points", async () => {
    const png = await renderSampleStrip(set);
    expect(Buffer.from(png.subarray(1, 4)).toString()).toBe("PNG");
    const { info, at } = await decode(png);
    expect([info.width, info.height]).toEqual([(3 * 16 + 2) * 4, 16 * 4]);
    const tileX = (n: number) => n * 17 * 4;
    const green = rgb(GT_COLOUR);
    const red = rgb(PRED_COLOUR);
    for (let n = 0; n < 3; n++) {
      for (let i = 0; i < 2; i++) {
        const [gx, gy] = [gt[n][2 * i], gt[n][2 * i + 1]];
        expect(at(tileX(n) + Math.floor(gx * 4), Math.floor(gy * 4)), `GT ${n}/${i}`).toEqual(green);
        const [px, py] = [pred[n][2 * i], pred[n][2 * i + 1]];
        if (px < 16) expect(at(tileX(n) + Math.floor(px * 4), Math.floor(py * 4)), `pred ${n}/${i}`).toEqual(red);
      }
    }
    // Away from every point: the image's own grey; between tiles: the white gap.
    expect(at(tileX(1) + 4 * 14, 4 * 3)).toEqual([128, 128, 128]);
    expect(at(tileX(1) - 2, 10)).toEqual([255, 255, 255]);
    // The out-of-face prediction (tile 0, x = 18 → tile 1's x = 1) is clipped at its own tile.
    expect(at(tileX(1) + 4 * 1, 4 * 8.5)).toEqual([128, 128, 128]);
  });

  it("keeps RGB images' colours and is deterministic", async () => {
    const side = 8;
    const images = new Float32Array(side * side * 3);
    for (let p = 0; p < side * side; p++) images.set([1, 0, 0.2], 3 * p);
    const one: SampleSet = { ...greySet(1, side, [[1.5, 1.5]], [[6.5, 6.5]]), channels: 3, images };
    const a = await renderSampleStrip(one);
    const b = await renderSampleStrip(one);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    const { info, at } = await decode(a);
    expect([info.width, info.height]).toEqual([32, 32]);
    expect(at(16, 16)).toEqual([255, 0, 51]);
  });

  it("names one PNG artifact per set; a dense strip of 8 faces renders well under a second", async () => {
    const side = 64;
    const dense = 490;
    const shape = () => Float32Array.from({ length: 8 * dense * 2 }, (_, k) => 16 + ((k * 37) % 320) / 10);
    const sets: SampleSet[] = ["synthetic-test", "common", "challenging"].map((testSet, i) => ({
      testSet,
      protocol: i === 0 ? "dense" : "test-time-mlp",
      count: 8,
      side,
      channels: 1,
      images: Float32Array.from({ length: 8 * side * side }, (_, k) => (k % 97) / 97),
      gt: shape(),
      gtPoints: i === 0 ? dense : 68,
      pred: shape(),
      predPoints: i === 0 ? dense : 68,
    }));
    const t0 = performance.now();
    const arts = await sampleArtifacts(sets);
    const ms = performance.now() - t0;
    expect(arts.map((a) => [a.kind, a.name, a.mime])).toEqual([
      ["samples", "samples-synthetic-test-dense.png", "image/png"],
      ["samples", "samples-common-test-time-mlp.png", "image/png"],
      ["samples", "samples-challenging-test-time-mlp.png", "image/png"],
    ]);
    const meta = await sharp(arts[0].bytes).metadata();
    expect([meta.width, meta.height]).toEqual([(8 * 64 + 7) * 4, 256]);
    // All three strips of a run; generous because the machine's cores are shared with training runs.
    expect(ms).toBeLessThan(3000);
  });
});

/** The iBug68 template fitted into [2, side−2]² and shifted by `d` px (real normalisers need real eyes). */
function face68(side: number, d: number): number[] {
  const t = Array.from(IBUG68_TEMPLATE);
  const lo = Math.min(...t);
  const hi = Math.max(...t);
  return t.map((v) => 2 + ((v - lo) / (hi - lo)) * (side - 5) + d);
}

/** An in-memory split of `n` distinct images (value = image index / n) with `points` GT points each. */
function memorySource(
  name: string,
  n: number,
  side: number,
  points: number,
): BatchSource & { images: Float32Array; gt: Float32Array; gt68: Float32Array } {
  const plane = side * side;
  const images = Float32Array.from({ length: n * plane }, (_, k) => Math.floor(k / plane) / n);
  const gt68 = Float32Array.from(Array.from({ length: n }, (_, i) => face68(side, (i % 3) * 0.5)).flat());
  const gt = points === 68 ? gt68 : Float32Array.from({ length: n * points * 2 }, (_, k) => 2 + (k % 11));
  return {
    name,
    length: n,
    points,
    images,
    gt,
    gt68,
    *batches(bs: number): Iterable<Batch> {
      for (let s = 0; s < n; s += bs) {
        const e = Math.min(n, s + bs);
        yield {
          size: e - s,
          images: images.slice(s * plane, e * plane),
          landmarks: gt.slice(s * points * 2, e * points * 2),
          visible: new Float32Array((e - s) * points).fill(1),
          landmarks68: gt68.slice(s * 136, e * 136),
        };
      }
    },
  };
}

describe("evaluateModel's samples", () => {
  const side = 16;
  const net = (landmarks: number) =>
    createHourglass({ inputSize: side, inputChannels: 1, stacks: 1, channels: 8, depth: 1, blocks: 1, heatmapSize: 4, landmarks }, 5);

  it.each([
    ["a dense model", false, 20, ["dense", "test-time-mlp", "test-time-mlp"]],
    ["a 68-point model", true, 68, ["direct", "direct", "direct"]],
  ] as const)("%s: the first images of each test set with their GT and the table's protocol", async (_, ibug, points, protocols) => {
    const model = net(points);
    const syn = memorySource("synthetic-test", 10, side, points);
    const common = memorySource("common", 5, side, 68);
    const challenging = memorySource("challenging", 12, side, 68);
    const { records, samples } = await evaluateModel({
      model,
      syntheticTest: syn,
      realTrain: memorySource("train", 6, side, 68),
      realTests: [
        { testSet: "common", source: common },
        { testSet: "challenging", source: challenging },
      ],
      subset: Int32Array.from({ length: 68 }, (_, i) => i % points),
      ibugModel: ibug,
      side,
      channels: 1,
      batchSize: 3, // 8 kept images span three batches, the last one in part
      mlp: { epochs: 1, hidden: 8, seed: 1 },
      samples: 8,
    });
    model.dispose();
    expect(records.length).toBeGreaterThan(0);
    expect(samples.map((s) => [s.testSet, s.protocol, s.count])).toEqual([
      ["synthetic-test", protocols[0], 8],
      ["common", protocols[1], 5],
      ["challenging", protocols[2], 8],
    ]);
    for (const [s, src] of [
      [samples[0], syn],
      [samples[1], common],
      [samples[2], challenging],
    ] as const) {
      expect(s.images).toEqual(src.images.slice(0, s.count * side * side));
      const gt = s.testSet === "synthetic-test" && ibug ? src.gt68 : src.gt;
      expect(s.gt).toEqual(gt.slice(0, s.count * s.gtPoints * 2));
      expect(s.pred.length).toBe(s.count * s.predPoints * 2);
    }
    expect(samples[0].predPoints).toBe(points);
    expect(samples[1].predPoints).toBe(68);
  });

  it("keeps no images and returns no samples by default", async () => {
    const model = net(20);
    const { samples } = await evaluateModel({
      model,
      syntheticTest: memorySource("synthetic-test", 4, side, 20),
      realTrain: memorySource("train", 4, side, 68),
      realTests: [{ testSet: "common", source: memorySource("common", 4, side, 68) }],
      subset: Int32Array.from({ length: 68 }, (_, i) => i % 20),
      ibugModel: false,
      side,
      channels: 1,
      batchSize: 4,
      mlp: { epochs: 1, hidden: 8, seed: 1 },
    });
    model.dispose();
    expect(samples).toEqual([]);
  });
});
