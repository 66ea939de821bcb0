import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@lml/core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { dalnBlock, dalnDiscrepancy, gradReverse, nuclearNorms, rampLambda } from "../src/adaptation/daln";
import { DomainDiscriminator } from "../src/adaptation/discriminator";
import { LabelTransferMLP, LabelTransferUNet } from "../src/adaptation/transfer";
import { softArgmax } from "../src/backend/ops";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Reference singular values by one-sided Jacobi (Hestenes) SVD: orthogonalise the columns of Aᵀ. */
function jacobiSingularValues(a: number[][]): number[] {
  // Work on the rows of A (B×D): rotate pairs of rows until they are orthogonal; the row norms are σ.
  const u = a.map((r) => r.slice());
  const n = u.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < u[p].length; k++) {
          alpha += u[p][k] * u[p][k];
          beta += u[q][k] * u[q][k];
          gamma += u[p][k] * u[q][k];
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < u[p].length; k++) {
          const x = u[p][k];
          const y = u[q][k];
          u[p][k] = c * x - s * y;
          u[q][k] = s * x + c * y;
        }
      }
    if (!rotated) break;
  }
  return u.map((r) => Math.hypot(...r)).sort((x, y) => y - x);
}

function randomMatrix(rng: Rng, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}

describe("nuclear norm", () => {
  it("matches the sum of singular values of a reference Jacobi SVD", () => {
    const rng = new Rng(7);
    const mats = [randomMatrix(rng, 6, 20), randomMatrix(rng, 8, 8), randomMatrix(rng, 5, 40)];
    // Also a rank-deficient one (rank 2) and a softmax-like non-negative one.
    const lowRank = randomMatrix(rng, 2, 30);
    const mix = randomMatrix(rng, 7, 2);
    mats.push(mix.map((w) => lowRank[0].map((x, k) => w[0] * x + w[1] * lowRank[1][k])));
    for (const m of mats) {
      const want = jacobiSingularValues(m).reduce((s, x) => s + x, 0);
      const got = nuclearNorms(tf.tensor3d([m])).dataSync()[0];
      expect(Math.abs(got - want) / want).toBeLessThan(1e-5);
    }
  });

  it("has the gradient U Vᵀ (checked by finite differences)", () => {
    const rng = new Rng(3);
    const m = randomMatrix(rng, 4, 9);
    const x = tf.tensor3d([m], undefined, "float32");
    const grad = tf
      .grad((t: tf.Tensor) => tf.sum(nuclearNorms(t as tf.Tensor3D)))(x)
      .arraySync() as number[][][];
    const f = (mm: number[][]) => jacobiSingularValues(mm).reduce((s, v) => s + v, 0);
    const h = 1e-4;
    for (const [i, j] of [
      [0, 0],
      [1, 3],
      [3, 8],
      [2, 5],
    ]) {
      const plus = m.map((r) => r.slice());
      const minus = m.map((r) => r.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      const fd = (f(plus) - f(minus)) / (2 * h);
      expect(grad[0][i][j]).toBeCloseTo(fd, 3);
    }
  });
});

describe("gradient reversal", () => {
  it("is the identity forward and multiplies the gradient by −λ", () => {
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(gradReverse(x, 0.5).dataSync())).toEqual([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gradReverse(t, 0.5), tf.tensor1d([1, 2, 4]))))(x);
    expect(Array.from(g.dataSync())).toEqual([-0.5, -1, -2]);
    expect(rampLambda(0, 100)).toBe(0);
    expect(rampLambda(1e9, 100)).toBeCloseTo(1);
  });
});

describe("DALN discrepancy", () => {
  it("is larger when the source is confident and the target is not", () => {
    const peaked = tf.tidy(() => tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([0, 5, 10, 15], "int32"), 16), [4, 4, 4, 1]), 20));
    const flat = tf.zeros([4, 4, 4, 1]) as tf.Tensor4D;
    const w = dalnDiscrepancy(peaked as tf.Tensor4D, flat).dataSync()[0];
    // Peaked at four different places: four orthonormal-ish rows, ‖P‖_* ≈ 4 → 1 per image; flat: rank 1,
    // ‖P‖_* = ‖1/16·𝟙‖_* = 4·(1/16)·√16 = 1 over 4 images → 0.25.
    expect(w).toBeGreaterThan(0.7);
  });

  it("equals mean_k (‖P_k^s‖_*/B_s − ‖P_k^t‖_*/B_t) computed from a reference SVD", () => {
    // B_s ≠ B_t, so a swapped normalisation or sign shows; P_k = spatial softmax of landmark k's map.
    const [bs, bt, h, k] = [5, 3, 3, 4];
    const source = tf.mul(tf.randomNormal([bs, h, h, k], 0, 1, "float32", 31), 4) as tf.Tensor4D; // peaked
    const target = tf.mul(tf.randomNormal([bt, h, h, k], 0, 1, "float32", 32), 0.5) as tf.Tensor4D; // flat
    const nuclear = (maps: tf.Tensor4D, landmark: number) => {
      const logits = (maps.arraySync() as number[][][][]).map((img) => img.flat().map((cell) => cell[landmark]));
      const p = logits.map((row) => {
        const e = row.map((v) => Math.exp(v - Math.max(...row)));
        const sum = e.reduce((a, v) => a + v, 0);
        return e.map((v) => v / sum);
      });
      return jacobiSingularValues(p).reduce((a, v) => a + v, 0);
    };
    let want = 0;
    for (let l = 0; l < k; l++) want += (nuclear(source, l) / bs - nuclear(target, l) / bt) / k;
    expect(Math.abs(want)).toBeGreaterThan(0.05);
    expect(Math.abs(dalnDiscrepancy(source, target).dataSync()[0] - want)).toBeLessThan(1e-5 * Math.abs(want) + 1e-7);
    tf.dispose([source, target]);
  });
});

describe("DALN blocks", () => {
  /** Each landmark's total weight over one cycle of blocks, relative to the all-landmark mean's 1/K per step. */
  function cycleWeights(k: number, blockSize: number): { weights: number[]; sizes: number[]; blocks: number[][] } {
    const n = Math.ceil(k / blockSize);
    const weights = new Array<number>(k).fill(0);
    const sizes: number[] = [];
    const blocks: number[][] = [];
    for (let step = 0; step < n; step++) {
      const b = dalnBlock(step, k, blockSize);
      const members = Array.from({ length: b.count }, (_, i) => b.offset + i * b.stride);
      for (const m of members) weights[m] += (b.weight * k) / n;
      sizes.push(b.count);
      blocks.push(members);
    }
    return { weights, sizes, blocks };
  }

  it.each([68, 490, 1001])("weights each of %i landmarks equally over a cycle of 64-landmark blocks", (k) => {
    const { weights, sizes, blocks } = cycleWeights(k, 64);
    // Exactly 1 each (the old contiguous blocks with a mean inside each: 0.53–8.5 at 68, up to 1.46 at 490).
    for (const w of weights) expect(w).toBeCloseTo(1, 12);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    // Every landmark in exactly one block, none out of range, and no block a contiguous run of points.
    expect(blocks.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, i) => i));
    for (const members of blocks) expect(members.every((m, i) => i === 0 || m - members[i - 1] > 1)).toBe(true);
    // The cycle starts again.
    expect(dalnBlock(blocks.length, k, 64)).toEqual(dalnBlock(0, k, 64));
  });

  it("keeps every landmark in one block when K fits", () => {
    expect(dalnBlock(5, 40, 64)).toEqual({ offset: 0, stride: 1, count: 40, weight: 1 / 40 });
  });

  it("adds up over a cycle to the all-landmark discrepancy, short blocks included", () => {
    // K = 130 in blocks of ≤ 64: 3 blocks of 44, 43, 43; B_s ≠ B_t so the two normalisations differ.
    const k = 130;
    const source = tf.mul(tf.randomNormal([5, 4, 4, k], 0, 1, "float32", 21), 3) as tf.Tensor4D;
    const target = tf.mul(tf.randomNormal([3, 4, 4, k], 0, 1, "float32", 22), 3) as tf.Tensor4D;
    const all = dalnDiscrepancy(source, target).dataSync()[0];
    const n = Math.ceil(k / 64);
    let sum = 0;
    for (let step = 0; step < n; step++) sum += dalnDiscrepancy(source, target, dalnBlock(step, k, 64)).dataSync()[0];
    expect(Math.abs(all)).toBeGreaterThan(1e-3);
    expect(sum / n).toBeCloseTo(all, 5);
    // The gradient reaches every landmark's map once per cycle, each equally.
    const grads = Array.from({ length: n }, (_, step) =>
      tf.grad((s: tf.Tensor) => dalnDiscrepancy(s as tf.Tensor4D, target, dalnBlock(step, k, 64)))(source),
    );
    const cycle = tf.div(tf.addN(grads), n);
    const full = tf.grad((s: tf.Tensor) => dalnDiscrepancy(s as tf.Tensor4D, target))(source);
    const diff = tf.max(tf.abs(tf.sub(cycle, full))).dataSync()[0];
    expect(diff).toBeLessThan(1e-6 + 1e-4 * tf.max(tf.abs(full)).dataSync()[0]);
    tf.dispose([source, target, cycle, full, ...grads]);
  });
});

describe("label transfer and discriminator", () => {
  it("the MLP starts as the nearest-subset selection and learns an offset from it", () => {
    const net = new LabelTransferMLP(5, Int32Array.from([4, 0]), 8, 1);
    const x = tf.tensor3d([
      [
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, 0.6],
        [0.7, 0.8],
        [0.9, 1.0],
      ],
    ]);
    const y = net.apply(x).arraySync()[0];
    expect(y[0][0]).toBeCloseTo(0.9, 1);
    expect(y[1][1]).toBeCloseTo(0.2, 1);
    // Labels 0.05 right of the selected points: Adam on the L1 must close most of the gap.
    const want = tf.tensor3d([
      [
        [0.95, 1.0],
        [0.15, 0.2],
      ],
    ]);
    const l1 = () => tf.tidy(() => tf.mean(tf.abs(tf.sub(net.apply(x), want))).dataSync()[0]);
    const before = l1();
    const opt = tf.train.adam(1e-2);
    for (let i = 0; i < 100; i++) opt.minimize(() => tf.mean(tf.abs(tf.sub(net.apply(x), want))) as tf.Scalar, false, net.variables);
    expect(before).toBeGreaterThan(0.02);
    expect(l1()).toBeLessThan(0.2 * before);
    opt.dispose();
    net.dispose();
  });

  it("the DANN discriminator learns to tell source (1) from target (0) features", () => {
    const d = new DomainDiscriminator(3, 8, 2);
    // Separable domains: the channel means differ (what global average pooling sees).
    const source = tf.add(tf.randomNormal([4, 2, 2, 3], 0, 0.3, "float32", 1), tf.tensor1d([1, -1, 0.5])) as tf.Tensor4D;
    const target = tf.add(tf.randomNormal([4, 2, 2, 3], 0, 0.3, "float32", 2), tf.tensor1d([-1, 1, -0.5])) as tf.Tensor4D;
    const before = d.loss(source, target).dataSync()[0];
    const opt = tf.train.adam(2e-2);
    for (let i = 0; i < 100; i++) opt.minimize(() => d.loss(source, target), false, d.variables);
    const after = d.loss(source, target).dataSync()[0];
    expect(before).toBeGreaterThan(0.3);
    expect(after).toBeLessThan(0.1);
    // The label convention the trainer relies on: source → 1, target → 0.
    for (const p of tf.sigmoid(d.logits(source)).dataSync()) expect(p).toBeGreaterThan(0.9);
    for (const p of tf.sigmoid(d.logits(target)).dataSync()) expect(p).toBeLessThan(0.1);
    opt.dispose();
    d.dispose();
  });

  it("the U-Net variant maps K dense heatmaps to 68 and starts as the nearest-subset selection", () => {
    const k = 12;
    const subset = Int32Array.from({ length: 68 }, (_, i) => (i * 5) % k);
    const net = new LabelTransferUNet(k, subset, 8, 4);
    const maps = tf.mul(tf.randomNormal([2, 8, 8, k], 0, 1, "float32", 9), 3) as tf.Tensor4D;
    expect(net.heatmaps(maps).shape).toEqual([2, 8, 8, 68]);
    const out = net.predict(maps).arraySync();
    const dense = softArgmax(maps).arraySync();
    // The last conv starts at 0.1 % of He scale: the output is within a tenth of a cell of the subset's.
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 68; i++) for (let a = 0; a < 2; a++) expect(Math.abs(out[b][i][a] - dense[b][subset[i]][a])).toBeLessThan(0.0125);
    expect(Object.keys(net.named)).toEqual([1, 2, 3, 4, 5].flatMap((i) => [`transfer-unet/w${i}`, `transfer-unet/b${i}`]));
    net.dispose();
  });
});
