/**
 * Domain adaptation pieces: the gradient-reversal layer, DALN's nuclear-norm Wasserstein discrepancy
 * (Chen et al., "Reusing the Task-specific Classifier as a Discriminator", CVPR 2022), the
 * label-transfer networks (dense synthetic points -> iBug68: an MLP on coordinates, a small U-Net on
 * heatmaps) and the DANN domain discriminator.
 *
 * Every network here owns plain `tf.Variable`s (named, so checkpoints can store them) and is
 * initialised from an explicit seed, so a run is reproducible.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./backend/gradients.js";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine";
import { landmarkRows, rowLogSoftmax } from "./losses";
import { downsample2x, softArgmax, upsample2x } from "./model";

// tfjs-core alone registers no gradients (see backend/gradients.ts); idempotent.
registerAllGradients();

// ---------------------------------------------------------------------------------------------------
// Gradient reversal
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// Nuclear norm (tfjs has no SVD)
// ---------------------------------------------------------------------------------------------------

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
 * DALN's nuclear-norm Wasserstein discrepancy, averaged over landmarks:
 * W = mean_k (‖P_k^s‖_* / B_s − ‖P_k^t‖_* / B_t). The critic (the task head behind a gradient-reversal
 * layer) maximises it; the backbone, through the reversal, minimises it. The trainer adds −weight·W.
 *
 * `block`, when given, restricts the mean to landmarks [start, start + count): the trainer rotates
 * through blocks step by step, so over a cycle every landmark counts equally while each step pays for
 * `count` host eigenproblems instead of K (490 of them took ~250 ms of a ~700 ms CPU step).
 */
export function dalnDiscrepancy(
  source: tf.Tensor4D,
  target: tf.Tensor4D,
  block?: { start: number; count: number },
): tf.Scalar {
  return tf.tidy(() => {
    const pick = (h: tf.Tensor4D) =>
      block ? (tf.slice(h, [0, 0, 0, block.start], [-1, -1, -1, block.count]) as tf.Tensor4D) : h;
    const ns = nuclearNorms(spatialProbabilities(pick(source)));
    const nt = nuclearNorms(spatialProbabilities(pick(target)));
    return tf.sub(tf.div(tf.mean(ns), source.shape[0]), tf.div(tf.mean(nt), target.shape[0])) as tf.Scalar;
  });
}

/** Landmarks per step in DALN's rotating blocks (see `dalnDiscrepancy`). */
export const DALN_BLOCK = 64;

/** The block of landmarks DALN uses at `step`: block (step mod #blocks) of DALN_BLOCK landmarks. */
export function dalnBlock(step: number, landmarks: number): { start: number; count: number } {
  const blocks = Math.ceil(landmarks / DALN_BLOCK);
  const start = (step % blocks) * DALN_BLOCK;
  return { start, count: Math.min(DALN_BLOCK, landmarks - start) };
}

// ---------------------------------------------------------------------------------------------------
// Small seeded networks
// ---------------------------------------------------------------------------------------------------

/** mulberry32: a 32-bit PRNG whose whole state is one integer (so checkpoints can store it). */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** A fresh 32-bit seed for a sub-stream (e.g. one epoch's shuffle). */
  int(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

// tfjs variable names must be unique per process (tests build several nets): let tfjs name them and
// expose stable names through `named` instead, which is what checkpoints use.
function dense(rng: Rng, fanIn: number, fanOut: number, scale: number): tf.Variable {
  const values = new Float32Array(fanIn * fanOut);
  const std = scale * Math.sqrt(2 / fanIn); // He init, times `scale`
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  return tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true);
}

function zeros(n: number): tf.Variable {
  return tf.variable(tf.zeros([n]), true);
}

/** Something with trainable variables under stable names, that checkpoints can store and restore. */
export interface HasVariables {
  /** Stable name → variable, e.g. "transfer/w1". */
  readonly named: Record<string, tf.Variable>;
  readonly variables: tf.Variable[];
  dispose(): void;
}

/**
 * A label-transfer network (RunConfig `train.labelTransfer`): the model's last-stack dense heatmap logits
 * (B×h×w×K) → iBug68 coordinates (B×68×2, image-side units). One interface so that the trainer and the
 * evaluation's `direct` protocol need not know which variant a run has.
 */
export interface LabelTransfer extends HasVariables {
  readonly kind: "mlp" | "unet";
  predict(heatmaps: tf.Tensor4D): tf.Tensor3D;
}

/** N×68 one-hot: the nearest-subset selection as a matrix product (tf.gather's gradient needs
 *  UnsortedSegmentSum, which the wasm backend lacks). */
function selectionMatrix(inPoints: number, subset: Int32Array): tf.Tensor2D {
  const onehot = new Float32Array(inPoints * subset.length);
  subset.forEach((j, i) => (onehot[j * subset.length + i] = 1));
  return tf.tensor2d(onehot, [inPoints, subset.length]);
}

/**
 * Label-transfer network: dense landmark coordinates (B×N×2, image-side units in [0, 1]) → iBug68
 * (B×68×2, same units). out = subset(x) + MLP(x − ½): the skip connection picks the nearest-subset
 * points (so an untrained network already equals the nearest-subset protocol) and the MLP — one hidden
 * ReLU layer whose output layer starts near zero — learns the definition offset between the two
 * schemes (e.g. jaw points that the synthetic scheme places elsewhere). Used in training
 * (syn-real-label-adaptation, where gradients also flow into the backbone) and fitted alone at test
 * time (the test-time-mlp protocol).
 */
export class LabelTransferMLP implements LabelTransfer {
  readonly kind = "mlp";
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  /** N×68 nearest-subset selection (`selectionMatrix`). */
  private readonly select: tf.Tensor2D;

  constructor(
    readonly inPoints: number,
    subset: Int32Array,
    hidden: number,
    seed: number,
    readonly prefix = "transfer",
  ) {
    const rng = new Rng(seed);
    this.w1 = dense(rng, 2 * inPoints, hidden, 1);
    this.b1 = zeros(hidden);
    this.w2 = dense(rng, hidden, 2 * subset.length, 0.01);
    this.b2 = zeros(2 * subset.length);
    this.select = selectionMatrix(inPoints, subset);
  }

  get outPoints(): number {
    return this.select.shape[1];
  }

  get named(): Record<string, tf.Variable> {
    const p = this.prefix;
    return { [`${p}/w1`]: this.w1, [`${p}/b1`]: this.b1, [`${p}/w2`]: this.w2, [`${p}/b2`]: this.b2 };
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  apply(coords: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const b = coords.shape[0];
      const x = tf.sub(tf.reshape(coords, [b, 2 * this.inPoints]), 0.5);
      const h = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1));
      const delta = tf.reshape(tf.add(tf.matMul(h, this.w2), this.b2), [b, this.outPoints, 2]);
      const xy = tf.reshape(tf.transpose(coords, [0, 2, 1]), [2 * b, this.inPoints]); // (B·2)×N
      const picked = tf.transpose(tf.reshape(tf.matMul(xy, this.select), [b, 2, this.outPoints]), [0, 2, 1]);
      return tf.add(picked, delta) as tf.Tensor3D;
    });
  }

  /** Heatmap logits → soft-argmax → `apply`. */
  predict(heatmaps: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => this.apply(softArgmax(heatmaps)));
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.select.dispose();
  }
}

/** Feature channels of the label-transfer U-Net (small: it works at heatmap resolution, 8×8 in the study). */
export const UNET_CHANNELS = 32;

/** k×k×cin×cout convolution kernel, He init times `scale`. */
function convKernel(rng: Rng, k: number, cin: number, cout: number, scale: number): tf.Variable {
  const values = new Float32Array(k * k * cin * cout);
  const std = scale * Math.sqrt(2 / (k * k * cin));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  return tf.variable(tf.tensor4d(values, [k, k, cin, cout]), true);
}

/**
 * U-Net-like label-transfer network on heatmaps: dense heatmap logits (B×h×w×K, h and w even) → 68
 * heatmap logits (B×h×w×68) → soft-argmax → B×68×2.
 *
 *   x  = spatial softmax of each dense map × h·w     (probabilities, rescaled to mean 1 per cell)
 *   e1 = relu(conv1×1 K→c), e2 = relu(conv3×3 c→c)   full resolution; e2 is the skip
 *   m  = relu(conv3×3 c→c (avg-pool 2×2 (e2)))        half resolution: context over ±3 cells
 *   d  = relu(conv3×3 2c→c (concat(up×2(m), e2)))     decoder with the skip connection
 *   out = select(dense logits) + conv1×1 c→68 (d)     the last conv starts near zero (0.1 % of He)
 *
 * Why this shape: the definition offset between a dense point and an iBug68 point is a small, local
 * displacement that may depend on the neighbouring points' layout (the jaw outline, the lips), which a
 * couple of 3×3 convolutions at two scales see. The additive selection of the nearest-subset logits makes
 * an untrained network equal the nearest-subset protocol, as the MLP's skip does. The softmax input makes
 * it independent of the logits' arbitrary offset per map. Down/up-sampling reuse model.ts's
 * `downsample2x`/`upsample2x` (hand-written gradients, tested against the cpu backend) instead of a
 * strided transposed convolution, which is slow on the wasm backend.
 */
export class LabelTransferUNet implements LabelTransfer {
  readonly kind = "unet";
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  readonly w3: tf.Variable;
  readonly b3: tf.Variable;
  readonly w4: tf.Variable;
  readonly b4: tf.Variable;
  readonly w5: tf.Variable;
  readonly b5: tf.Variable;
  private readonly select: tf.Tensor2D;

  constructor(
    readonly inPoints: number,
    subset: Int32Array,
    readonly channels: number,
    seed: number,
    readonly prefix = "transfer-unet",
  ) {
    const rng = new Rng(seed);
    const c = channels;
    this.w1 = convKernel(rng, 1, inPoints, c, 1);
    this.b1 = zeros(c);
    this.w2 = convKernel(rng, 3, c, c, 1);
    this.b2 = zeros(c);
    this.w3 = convKernel(rng, 3, c, c, 1);
    this.b3 = zeros(c);
    this.w4 = convKernel(rng, 3, 2 * c, c, 1);
    this.b4 = zeros(c);
    // 0.1 % of He scale: peaked input maps reach ~h·w, so 1 % (the MLP's) still moved points by ~0.2
    // cells at the start; AdamW's per-parameter step makes the small scale cost no learning speed.
    this.w5 = convKernel(rng, 1, c, subset.length, 0.001);
    this.b5 = zeros(subset.length);
    this.select = selectionMatrix(inPoints, subset);
  }

  get outPoints(): number {
    return this.select.shape[1];
  }

  get named(): Record<string, tf.Variable> {
    const p = this.prefix;
    const out: Record<string, tf.Variable> = {};
    this.variables.forEach((v, i) => (out[`${p}/${i % 2 === 0 ? "w" : "b"}${(i >> 1) + 1}`] = v));
    return out;
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2, this.w3, this.b3, this.w4, this.b4, this.w5, this.b5];
  }

  /** Dense heatmap logits B×h×w×K → 68 heatmap logits B×h×w×68. */
  heatmaps(dense: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, k] = dense.shape;
      if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`LabelTransferUNet: heatmap side ${h}×${w} must be even`);
      const conv = (x: tf.Tensor4D, W: tf.Variable, B: tf.Variable) =>
        tf.add(tf.conv2d(x, W as tf.Tensor4D, 1, "same"), B) as tf.Tensor4D;
      // rowLogSoftmax has the cheap hand-written gradient (losses.ts); back to NHWC afterwards.
      const p = tf.exp(rowLogSoftmax(landmarkRows(dense)));
      const x = tf.reshape(tf.transpose(tf.mul(p, h * w), [0, 2, 1]), [b, h, w, k]) as tf.Tensor4D;
      const e1 = tf.relu(conv(x, this.w1, this.b1));
      const e2 = tf.relu(conv(e1, this.w2, this.b2));
      const m = tf.relu(conv(downsample2x(e2), this.w3, this.b3));
      const d = tf.relu(conv(tf.concat([upsample2x(m), e2], 3) as tf.Tensor4D, this.w4, this.b4));
      const delta = conv(d, this.w5, this.b5);
      const picked = tf.reshape(tf.matMul(tf.reshape(dense, [b * h * w, k]), this.select), [b, h, w, this.outPoints]);
      return tf.add(picked, delta) as tf.Tensor4D;
    });
  }

  predict(heatmaps: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => softArgmax(this.heatmaps(heatmaps)));
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.select.dispose();
  }
}

/**
 * DANN domain discriminator: global-average-pooled backbone features (B×C) → hidden ReLU → one logit
 * (synthetic = 1, real = 0). Placed behind `gradReverse`, so the backbone learns domain-invariant
 * features while this learns to tell the domains apart (Ganin & Lempitsky 2015).
 */
export class DomainDiscriminator implements HasVariables {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;

  constructor(
    channels: number,
    hidden: number,
    seed: number,
    readonly prefix = "discriminator",
  ) {
    const rng = new Rng(seed);
    this.w1 = dense(rng, channels, hidden, 1);
    this.b1 = zeros(hidden);
    this.w2 = dense(rng, hidden, 1, 1);
    this.b2 = zeros(1);
  }

  get named(): Record<string, tf.Variable> {
    const p = this.prefix;
    return { [`${p}/w1`]: this.w1, [`${p}/b1`]: this.b1, [`${p}/w2`]: this.w2, [`${p}/b2`]: this.b2 };
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  /** features: B×h×w×C → logits B. */
  logits(features: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const pooled = tf.mean(features, [1, 2]) as tf.Tensor2D;
      const h = tf.relu(tf.add(tf.matMul(pooled, this.w1), this.b1));
      return tf.reshape(tf.add(tf.matMul(h, this.w2), this.b2), [-1]) as tf.Tensor1D;
    });
  }

  /** Binary cross-entropy of telling source (label 1) from target (label 0), mean over both batches. */
  loss(sourceFeatures: tf.Tensor4D, targetFeatures: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const ls = this.logits(sourceFeatures);
      const lt = this.logits(targetFeatures);
      const labels = tf.concat([tf.onesLike(ls), tf.zerosLike(lt)]);
      return tf.losses.sigmoidCrossEntropy(labels, tf.concat([ls, lt])) as tf.Scalar;
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
