import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { coordLoss, expectedCoords, gaussianTargetRows, heatmapLoss, landmarkLoss, landmarkRows, rowLogSoftmax } from "../src/losses";
import { softArgmax } from "../src/backend/ops";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Rows B×K×(h·w) back to the model's B×h×w×K layout. */
const toMaps = (rows: tf.Tensor3D, h: number) =>
  tf.reshape(tf.transpose(rows, [0, 2, 1]), [rows.shape[0], h, h, rows.shape[1]]) as tf.Tensor4D;

describe("heatmap targets and losses", () => {
  const coords = tf.tensor3d([
    [
      [0.5, 0.5],
      [0.3, 0.6],
    ],
    [
      [0.41, 0.55],
      [0.62, 0.37],
    ],
  ]); // B=2, N=2

  it("Gaussian targets are distributions centred on the landmarks", () => {
    const t = gaussianTargetRows(coords, 16);
    expect(t.shape).toEqual([2, 2, 256]);
    for (const s of tf.sum(t, 2).dataSync()) expect(s).toBeCloseTo(1, 5);
    // The expectation of the target equals the landmark (away from the border): soft-argmax of log t.
    const back = softArgmax(toMaps(tf.log(t) as tf.Tensor3D, 16)).arraySync();
    const want = coords.arraySync();
    for (let b = 0; b < 2; b++) for (let k = 0; k < 2; k++) for (let a = 0; a < 2; a++) expect(back[b][k][a]).toBeCloseTo(want[b][k][a], 3);
  });

  it("σ (train.heatmapSigma) sets the target's spread", () => {
    const spread = (sigma: number) => {
      const t = gaussianTargetRows(coords, 16, 16, sigma);
      // Entropy of the target rows: grows with σ.
      return tf.neg(tf.sum(tf.mul(t, tf.log(tf.add(t, 1e-12))))).dataSync()[0];
    };
    expect(spread(0.5)).toBeLessThan(spread(1));
    expect(spread(1)).toBeLessThan(spread(2));
    const wts = { heatmapWeight: 1, coordWeight: 0 };
    const maps = toMaps(tf.log(gaussianTargetRows(coords, 8)) as tf.Tensor3D, 8); // the σ = 1 target itself
    const at1 = landmarkLoss([maps], coords, wts).total.dataSync()[0];
    const at2 = landmarkLoss([maps], coords, { ...wts, heatmapSigma: 2 }).total.dataSync()[0];
    expect(landmarkLoss([maps], coords, { ...wts, heatmapSigma: 1 }).total.dataSync()[0]).toBe(at1); // default σ = 1
    expect(at2).toBeGreaterThan(at1 + 0.1); // σ = 1 maps are no longer the target
  });

  it("the heatmap cross-entropy is smallest at the target and the coordinate L1 is in heatmap cells", () => {
    const t = gaussianTargetRows(coords, 16);
    const atTarget = heatmapLoss(tf.log(t) as tf.Tensor3D, t).dataSync()[0];
    const flat = heatmapLoss(rowLogSoftmax(tf.zeros([2, 2, 256]) as tf.Tensor3D), t).dataSync()[0];
    expect(flat).toBeCloseTo(Math.log(256), 4); // uniform prediction: CE = log(h·w)
    expect(atTarget).toBeLessThan(flat);
    expect(atTarget).toBeGreaterThan(2.5); // the target's own entropy (≈ 2.84 at σ = 1)
    // Every coordinate off by 1/16 of the side = one cell at 16×16.
    expect(coordLoss(tf.add(coords, 1 / 16) as tf.Tensor3D, coords, 16).dataSync()[0]).toBeCloseTo(1, 5);
  });

  it("the hand-written log-softmax and soft-argmax match tfjs's generic ones", () => {
    const x = tf.mul(tf.randomNormal([2, 4, 4, 3], 0, 1, "float32", 5), 3) as tf.Tensor4D;
    const generic = (t: tf.Tensor) => tf.sub(t, tf.logSumExp(t, -1, true));
    const w = tf.randomNormal([2, 3, 16], 0, 1, "float32", 6);
    const a = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(rowLogSoftmax(landmarkRows(t as tf.Tensor4D)), w)))(x)
      .dataSync();
    const b = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(generic(landmarkRows(t as tf.Tensor4D)), w)))(x)
      .dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
    const c1 = expectedCoords(tf.exp(rowLogSoftmax(landmarkRows(x))) as tf.Tensor3D, 4).dataSync();
    const c2 = softArgmax(x).dataSync();
    c1.forEach((v, i) => expect(v).toBeCloseTo(c2[i], 5));
  });

  it("supervises every stack and averages over stacks", () => {
    const good = toMaps(tf.log(gaussianTargetRows(coords, 8)) as tf.Tensor3D, 8);
    const bad = tf.zeros([2, 8, 8, 2]) as tf.Tensor4D;
    const wts = { heatmapWeight: 1, coordWeight: 1 };
    const one = landmarkLoss([bad], coords, wts).total.dataSync()[0];
    const two = landmarkLoss([bad, good], coords, wts).total.dataSync()[0];
    const best = landmarkLoss([good], coords, wts).total.dataSync()[0];
    expect(best).toBeLessThan(one);
    expect(two).toBeCloseTo((one + best) / 2, 4);
  });
});
