/**
 * Adversarial pieces shared by the adaptation regimes: the gradient-reversal layer (DALN and DANN both
 * train their critic through it) and DALN's nuclear-norm Wasserstein discrepancy (Chen et al.,
 * "Reusing the Task-specific Classifier as a Discriminator", CVPR 2022), with the exact nuclear norm it
 * needs (tfjs has no SVD).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine";
import { registerAllGradients } from "../backend/gradients.js";

// tfjs-core alone registers no gradients (see backend/gradients.ts); idempotent.
registerAllGradients();

// --- Gradient reversal ---------------------------------------------------------------------------------

/**
 * Identity on the forward pass; multiplies the incoming gradient by −λ on the backward pass. What sits
 * before it (the backbone) then descends on the negation of what sits after it (the discriminator)
 * ascends, i.e. the two play the min-max game in one optimiser step.
 */
export function gradReverse<T extends tf.Tensor>(x: T, lambda: number): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, -lambda),
  })) as unknown as CustomGradientFunc<tf.Tensor>);
  return f(x) as T;
}

/** The adversarial ramp λ = tanh(step / rampSteps): 0 at the start (task first), → 1. */
export function rampLambda(step: number, rampSteps: number): number {
  return Math.tanh(step / Math.max(1, rampSteps));
}

// --- Nuclear norm (tfjs has no SVD) -------------------------------------------------------------------

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major, float64) by cyclic Jacobi rotations.
 * Returns eigenvalues and eigenvectors (column j of `vectors` belongs to values[j]). Used on B×B Gram
 * matrices (B = batch size, tens at most), where Jacobi is exact to float64 rounding and fast enough.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i] * m[i * n + i];
      for (let j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
    }
    // Converged when the off-diagonal mass is ~1e-12 of the diagonal's: beyond float32 resolution.
    if (off <= 1e-24 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}

/**
 * Nuclear norms ‖P_g‖_* of a stack of G matrices P_g (B×D each), differentiable.
 *
 * ‖P‖_* = Σσ_i = trace((P Pᵀ)^½). We use the B×B Gram matrix (B ≪ D here, so it is the cheap side),
 * built on the host in float64 and diagonalised exactly by Jacobi, instead of a Newton–Schulz iteration:
 * exact, and no convergence tuning. The gradient is the textbook one, ∂‖P‖_* / ∂P = U Vᵀ =
 * (P Pᵀ)^−½ P, where directions with σ ≈ 0 (rank deficiency) get the zero subgradient.
 */
export function nuclearNorms(p: tf.Tensor3D): tf.Tensor1D {
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const [g, b] = input.shape as [number, number, number];
    // Gram matrices P Pᵀ by one batched matMul (float32: σ² carries float32's relative precision,
    // plenty for a loss), then the B×B eigenproblems on the host in float64.
    const grams = tf.tidy(() => tf.matMul(input as tf.Tensor3D, input as tf.Tensor3D, false, true)).dataSync();
    const norms = new Float32Array(g);
    const invSqrt = new Float32Array(g * b * b); // (P Pᵀ)^−½ per matrix, for the backward pass
    const gram = new Float64Array(b * b);
    for (let k = 0; k < g; k++) {
      for (let i = 0; i < b; i++)
        for (let j = i; j < b; j++) {
          // Symmetrise exactly (float32 matMul need not be).
          const s = 0.5 * (grams[k * b * b + i * b + j] + grams[k * b * b + j * b + i]);
          gram[i * b + j] = s;
          gram[j * b + i] = s;
        }
      const { values, vectors } = symmetricEigen(gram, b);
      const top = Math.max(...values, 0);
      let norm = 0;
      for (let j = 0; j < b; j++) {
        const lam = values[j];
        // σ² below the float32 resolution of the Gram matrix are rank deficiency, not signal.
        if (lam <= 1e-6 * top || lam <= 1e-30) continue;
        const sigma = Math.sqrt(lam);
        norm += sigma;
        for (let r = 0; r < b; r++) {
          const ur = vectors[r * b + j] / sigma;
          for (let c = 0; c < b; c++) invSqrt[k * b * b + r * b + c] += ur * vectors[c * b + j];
        }
      }
      norms[k] = norm;
    }
    const m = tf.tensor3d(invSqrt, [g, b, b]);
    save([input, m]);
    return {
      value: tf.tensor1d(norms),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, inv] = saved;
        return tf.mul(tf.matMul(inv as tf.Tensor3D, x as tf.Tensor3D), tf.reshape(dy, [g, 1, 1]));
      },
    };
  }) as unknown as CustomGradientFunc<tf.Tensor1D>);
  return f(p) as tf.Tensor1D;
}

/**
 * How heatmaps become DALN's probability matrices.
 *
 * DALN was written for classification: P is the B×C matrix of softmax predictions, ‖P‖_F measures
 * confidence and rank(P) diversity. A landmark heatmap (B×h×w×K logits) is K classification problems
 * whose classes are the h·w locations, so each landmark k gives P_k = spatial softmax of its heatmap,
 * B×(h·w), rows on the simplex: exactly DALN's object, with "confident" = a peaked heatmap and "diverse"
 * = different images put the landmark at different places. We deliberately do NOT collapse to one B×K
 * matrix of per-landmark peak masses: its rows are non-negative and nearly parallel (every landmark
 * of one face is about as sharp as every other), so its nuclear norm ≈ its Frobenius norm and the
 * discrepancy would lose the diversity half of DALN.
 *
 * Returns K×B×(h·w).
 */
export function spatialProbabilities(heatmaps: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, k] = heatmaps.shape;
  const flat = tf.transpose(tf.reshape(heatmaps, [b, h * w, k]), [2, 0, 1]); // K×B×hw
  return tf.softmax(flat) as tf.Tensor3D;
}

/**
 * The landmarks one DALN step uses (`dalnBlock`): every `stride`-th landmark from `offset`, `count` of
 * them, each weighted `weight` in the discrepancy's sum.
 */
export interface DalnBlock {
  offset: number;
  stride: number;
  count: number;
  weight: number;
}

/**
 * DALN's nuclear-norm Wasserstein discrepancy, averaged over landmarks:
 * W = mean_k (‖P_k^s‖_* / B_s − ‖P_k^t‖_* / B_t). The critic (the task head behind a gradient-reversal
 * layer) maximises it; the backbone, through the reversal, minimises it. The trainer adds −weight·W.
 *
 * `block`, when given, restricts W to the block's landmarks, each counted with the block's `weight`
 * (see `dalnBlock`): each step then pays for `count` host eigenproblems instead of K (490 of them took
 * ~250 ms of a ~700 ms CPU step), and over a cycle of blocks W adds up to the all-landmark mean.
 */
export function dalnDiscrepancy(source: tf.Tensor4D, target: tf.Tensor4D, block?: DalnBlock): tf.Scalar {
  return tf.tidy(() => {
    const k = source.shape[3];
    const pick = (h: tf.Tensor4D) => (block ? stridedLandmarks(h, block) : h);
    const weight = block ? block.weight : 1 / k;
    const ns = nuclearNorms(spatialProbabilities(pick(source)));
    const nt = nuclearNorms(spatialProbabilities(pick(target)));
    return tf.mul(tf.sub(tf.div(tf.sum(ns), source.shape[0]), tf.div(tf.sum(nt), target.shape[0])), weight) as tf.Scalar;
  });
}

/**
 * Landmarks offset, offset + stride, … (`count` of them) of B×h×w×K maps, as B×h×w×count. tfjs has no
 * StridedSlice gradient (and the wasm backend no UnsortedSegmentSum for gather's), so: slice from
 * `offset`, zero-pad to count·stride channels, view as count×stride and keep column 0 — slice, pad and
 * reshape all have gradients on every backend.
 */
function stridedLandmarks(h: tf.Tensor4D, { offset, stride, count }: DalnBlock): tf.Tensor4D {
  const [b, y, x, k] = h.shape;
  if (stride === 1) return tf.slice(h, [0, 0, 0, offset], [-1, -1, -1, count]);
  const span = count * stride;
  const have = Math.min(span, k - offset);
  let c = tf.slice(h, [0, 0, 0, offset], [-1, -1, -1, have]);
  if (have < span)
    c = tf.pad(c, [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, span - have],
    ]);
  const rows = tf.slice(tf.reshape(c, [b * y * x, count, stride]), [0, 0, 0], [-1, -1, 1]);
  return tf.reshape(rows, [b, y, x, count]);
}

/**
 * The block of landmarks DALN uses at `step`, with blocks of at most `blockSize` landmarks (RunConfig
 * `train.dalnBlock`, 64 by default). With n = ⌈K / blockSize⌉ blocks, block b = step mod n is every n-th
 * landmark from b: the blocks differ in size by at most one, each spans the whole face (dense schemes
 * list their points curve by curve, so a contiguous block would adapt one face part per step), and
 * every landmark is in exactly one block per cycle of n steps. Each landmark's weight is n/K whatever
 * its block's size, so over a cycle every landmark counts equally and the n steps' discrepancies add up
 * to n times the all-landmark mean (a mean within each block would over-weight a short block's points).
 */
export function dalnBlock(step: number, landmarks: number, blockSize: number): DalnBlock {
  const stride = Math.ceil(landmarks / blockSize);
  const offset = step % stride;
  return { offset, stride, count: Math.ceil((landmarks - offset) / stride), weight: stride / landmarks };
}
