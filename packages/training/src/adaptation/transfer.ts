/**
 * The label-transfer networks of syn-real-label-adaptation (RunConfig `train.labelTransfer`): dense
 * synthetic points → iBug68, an MLP on coordinates (also the test-time-mlp protocol's net) or a small
 * U-Net on heatmaps. Both start as the nearest-subset mapping. Each owns its variables in a
 * ParamRegistry under stable names ("transfer/w1", "transfer-unet/b5"), initialised from its own seed.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@lml/core";
import { registerAllGradients } from "../backend/gradients.js";
import { downsample2x, softArgmax, upsample2x } from "../backend/ops";
import { landmarkRows, rowLogSoftmax } from "../losses";
import { ParamRegistry, type HasVariables } from "../params";

// tfjs-core alone registers no gradients (see backend/gradients.ts); idempotent.
registerAllGradients();

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
  private readonly params: ParamRegistry;

  constructor(
    readonly inPoints: number,
    subset: Int32Array,
    hidden: number,
    seed: number,
    prefix = "transfer",
  ) {
    const rng = new Rng(seed);
    const params = (this.params = new ParamRegistry(() => rng.normal(), prefix));
    this.w1 = params.he("w1", [2 * inPoints, hidden], 2 * inPoints);
    this.b1 = params.zeros("b1", [hidden]);
    // The output layer starts near zero (1 % of He), so the untrained net is the nearest-subset mapping.
    this.w2 = params.he("w2", [hidden, 2 * subset.length], hidden, 0.01);
    this.b2 = params.zeros("b2", [2 * subset.length]);
    this.select = selectionMatrix(inPoints, subset);
  }

  get outPoints(): number {
    return this.select.shape[1];
  }

  get named(): Record<string, tf.Variable> {
    return this.params.named;
  }

  get variables(): tf.Variable[] {
    return this.params.variables;
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
    this.params.dispose();
    this.select.dispose();
  }
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
 * it independent of the logits' arbitrary offset per map. Down/up-sampling reuse backend/ops.ts's
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
  private readonly params: ParamRegistry;

  /** `channels`: RunConfig `train.unetChannels` (small: it works at heatmap resolution, 8×8 in the study). */
  constructor(
    readonly inPoints: number,
    subset: Int32Array,
    readonly channels: number,
    seed: number,
    prefix = "transfer-unet",
  ) {
    const rng = new Rng(seed);
    const params = (this.params = new ParamRegistry(() => rng.normal(), prefix));
    const c = channels;
    const kernel = (name: string, k: number, cin: number, cout: number, scale = 1) =>
      params.he(name, [k, k, cin, cout], k * k * cin, scale);
    this.w1 = kernel("w1", 1, inPoints, c);
    this.b1 = params.zeros("b1", [c]);
    this.w2 = kernel("w2", 3, c, c);
    this.b2 = params.zeros("b2", [c]);
    this.w3 = kernel("w3", 3, c, c);
    this.b3 = params.zeros("b3", [c]);
    this.w4 = kernel("w4", 3, 2 * c, c);
    this.b4 = params.zeros("b4", [c]);
    // 0.1 % of He scale: peaked input maps reach ~h·w, so 1 % (the MLP's) still moved points by ~0.2
    // cells at the start; AdamW's per-parameter step makes the small scale cost no learning speed.
    this.w5 = kernel("w5", 1, c, subset.length, 0.001);
    this.b5 = params.zeros("b5", [subset.length]);
    this.select = selectionMatrix(inPoints, subset);
  }

  get outPoints(): number {
    return this.select.shape[1];
  }

  get named(): Record<string, tf.Variable> {
    return this.params.named;
  }

  get variables(): tf.Variable[] {
    return this.params.variables;
  }

  /** Dense heatmap logits B×h×w×K → 68 heatmap logits B×h×w×68. */
  heatmaps(dense: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, k] = dense.shape;
      if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`LabelTransferUNet: heatmap side ${h}×${w} must be even`);
      const conv = (x: tf.Tensor4D, W: tf.Variable, B: tf.Variable) => tf.add(tf.conv2d(x, W as tf.Tensor4D, 1, "same"), B) as tf.Tensor4D;
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
    this.params.dispose();
    this.select.dispose();
  }
}
