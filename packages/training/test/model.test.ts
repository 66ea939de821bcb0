import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../src/backend/select.js";
import { softArgmax } from "../src/backend/ops.js";
import { createHourglass, type HourglassConfig } from "../src/model.js";

const small: HourglassConfig = {
  inputSize: 32,
  inputChannels: 1,
  stacks: 2,
  channels: 16,
  depth: 2,
  blocks: 1,
  heatmapSize: 8,
  landmarks: 5,
};

/**
 * The trainable parameter count of model.ts's diagram, worked out by hand from it (not from the
 * registry): batch-norm γ, β (2c); convolutions followed by batch-norm have no bias; heads and remaps do.
 */
function diagramParams(cfg: HourglassConfig): number {
  const c = cfg.channels;
  const k = cfg.landmarks;
  // pre-activation bottleneck cin → cout: BN(cin), 1×1 cin→m, BN(m), 3×3 m→m, BN(m), 1×1 m→cout, 1×1 skip if cin ≠ cout
  const residual = (cin: number, cout: number) => {
    const m = cout / 2;
    return 2 * cin + cin * m + 2 * m + 9 * m * m + 2 * m + m * cout + (cin === cout ? 0 : cin * cout);
  };
  const blocks = cfg.blocks * residual(c, c);
  const hourglass = (depth: number): number => 3 * blocks + (depth > 1 ? hourglass(depth - 1) : blocks); // up, low1, low3 + inner
  const stem = 7 * 7 * cfg.inputChannels * (c / 2) + 2 * (c / 2) + residual(c / 2, c) + residual(c, c);
  let total = stem;
  for (let s = 0; s < cfg.stacks; s++) {
    total += hourglass(cfg.depth) + blocks + c * c + 2 * c + (c * k + k); // hourglass, post, lin + BN, head
    if (s < cfg.stacks - 1) total += c * c + c + (k * c + c); // remap features and heatmaps back into the stream
  }
  return total;
}

beforeAll(async () => {
  await initBackend("wasm", () => {});
});

describe("createHourglass", () => {
  it("returns one B×h×w×K heatmap per stack and B×h×w×c features", () => {
    const m = createHourglass(small, 1);
    const x = tf.randomUniform([2, 32, 32, 1]) as tf.Tensor4D;
    const { heatmaps, features } = m.forward(x, false);
    expect(heatmaps.map((h) => h.shape)).toEqual([
      [2, 8, 8, 5],
      [2, 8, 8, 5],
    ]);
    expect(features.shape).toEqual([2, 8, 8, 16]);
    const again = m.head(features);
    expect(Array.from(again.dataSync())).toEqual(Array.from(heatmaps[1].dataSync()));
    tf.dispose([x, heatmaps, features, again]);
    m.dispose();
  });

  it("is reproducible from its seed and differs across seeds", () => {
    const a = createHourglass(small, 7);
    const b = createHourglass(small, 7);
    const c = createHourglass(small, 8);
    const first = (m: typeof a) => Array.from(m.trainableVariables[0].dataSync());
    expect(first(a)).toEqual(first(b));
    expect(first(a)).not.toEqual(first(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it.each<[string, HourglassConfig]>([
    ["the small test model", small],
    [
      "the standard model",
      { inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 },
    ],
    [
      "3 stacks, depth 3, 2 blocks, RGB",
      { inputSize: 32, inputChannels: 3, stacks: 3, channels: 8, depth: 3, blocks: 2, heatmapSize: 8, landmarks: 7 },
    ],
  ])("trains exactly the parameters of the diagram: %s", (_, config) => {
    const m = createHourglass(config, 0);
    expect(m.paramCount()).toBe(diagramParams(config));
    expect(m.trainableVariables.reduce((n, v) => n + v.size, 0)).toBe(diagramParams(config));
    m.dispose();
  });

  it("counts FLOPs of the standard model", () => {
    const m = createHourglass(
      { inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 },
      0,
    );
    // head 64→490 at 16×16 alone is 2·256·64·490 ≈ 16 MFLOP per stack.
    expect(m.flopsPerImage()).toBeGreaterThan(100e6);
    expect(m.flopsPerImage()).toBeLessThan(130e6);
    m.dispose();
  });

  it("trains without leaking tensors and updates batch-norm running stats only in training mode", () => {
    const m = createHourglass(small, 3);
    const x = tf.randomUniform([4, 32, 32, 1], 0, 1, "float32", 1) as tf.Tensor4D;
    const target = tf.randomUniform([4, 8, 8, 5], 0, 1, "float32", 2) as tf.Tensor4D;
    const opt = tf.train.adam(1e-3);
    const loss = () =>
      opt.minimize(
        () => tf.addN(m.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar,
        true,
        m.trainableVariables,
      )!;
    loss().dispose(); // the optimiser allocates its slots on the first step
    const stat = () => Array.from(m.getState()["stem.bn.mean"].dataSync());
    const before = tf.memory().numTensors;
    const s0 = stat();
    const l1 = loss();
    const l2 = loss();
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(l2.dataSync()[0]).toBeLessThan(l1.dataSync()[0]);
    expect(stat()).not.toEqual(s0);
    const s1 = stat();
    tf.dispose(m.forward(x, false));
    expect(stat()).toEqual(s1);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([l1, l2, x, target]);
    opt.dispose();
    m.dispose();
  });

  it("round-trips its full state, including running statistics", () => {
    const a = createHourglass(small, 4);
    const b = createHourglass(small, 5);
    const x = tf.randomUniform([2, 32, 32, 1], 0, 1, "float32", 3) as tf.Tensor4D;
    tf.dispose(a.forward(x, true)); // moves a's running stats away from their initial values
    const state = a.getState();
    expect(Object.keys(state).some((k) => k.endsWith(".var"))).toBe(true);
    b.setState(state);
    const ya = a.forward(x, false).heatmaps[1].dataSync();
    const yb = b.forward(x, false).heatmaps[1].dataSync();
    expect(Array.from(yb)).toEqual(Array.from(ya));
    expect(() => b.setState({})).toThrow(/missing/);
    [a, b].forEach((m) => m.dispose());
    x.dispose();
  });

  it("runs the learned stem's first residual at the stride-2 side: same parameters, more FLOPs, same output shape", () => {
    const cfg = { ...small, inputSize: 64, heatmapSize: 16 };
    const pooled = createHourglass(cfg, 1);
    const learned = createHourglass({ ...cfg, stem: "learned" }, 1);
    expect(learned.paramCount()).toBe(pooled.paramCount());
    // residual(c/2 → c) at 32×32 instead of 16×16: its multiply-adds × (4 − 1), × 2 FLOPs each.
    const c = cfg.channels;
    const m = c / 2;
    const residualMacs = (c / 2) * m + 9 * m * m + m * c + (c / 2) * c;
    expect(learned.flopsPerImage() - pooled.flopsPerImage()).toBe(2 * 3 * 16 * 16 * residualMacs);
    const x = tf.randomUniform([2, 64, 64, 1]) as tf.Tensor4D;
    const a = pooled.forward(x, false).heatmaps[1];
    const b = learned.forward(x, false).heatmaps[1];
    expect(b.shape).toEqual(a.shape);
    // Same weights (same seed, same registry order), another diagram: the outputs differ.
    expect(Array.from(b.dataSync())).not.toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    pooled.dispose();
    learned.dispose();
  });

  it("rejects a heatmap size that the input cannot be pooled down to", () => {
    expect(() => createHourglass({ ...small, heatmapSize: 12 }, 0)).toThrow(/power of two/);
  });
});

describe("softArgmax", () => {
  it("returns the centre of a peaked cell as a fraction of the image side", () => {
    const h = 8;
    const w = 4;
    const logits = tf.buffer([1, h, w, 2]);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < 2; k++) logits.set(-1e4, 0, i, j, k);
    logits.set(0, 0, 3, 1, 0); // landmark 0 at row 3, column 1
    logits.set(0, 0, 0, 3, 1); // landmark 1 at row 0, column 3
    const xy = softArgmax(logits.toTensor() as tf.Tensor4D).arraySync();
    expect(xy[0][0][0]).toBeCloseTo(1.5 / w, 6);
    expect(xy[0][0][1]).toBeCloseTo(3.5 / h, 6);
    expect(xy[0][1][0]).toBeCloseTo(3.5 / w, 6);
    expect(xy[0][1][1]).toBeCloseTo(0.5 / h, 6);
  });

  it("returns the image centre for flat heatmaps", () => {
    const xy = softArgmax(tf.zeros([2, 16, 16, 3]) as tf.Tensor4D).dataSync();
    for (const v of xy) expect(v).toBeCloseTo(0.5, 6);
  });
});
