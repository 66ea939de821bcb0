/**
 * The stacked HourglassNet (Newell, Yang & Deng, "Stacked Hourglass Networks for Human Pose Estimation",
 * ECCV 2016), in one file you can read top to bottom: the network diagram and nothing else. The
operations it is drawn with that needed care on the wasm backend (batch-norm, pooling, up-sampling) are
in backend/ops.ts; the weights live in a ParamRegistry (params.ts), initialised from `seed`.
 *
 *   image B×S×S×Cin
 *   └ stem: conv 7×7 stride 2 → BN → ReLU, avg-pool 2×2 until the side is `heatmapSize`,
 *           residual(c/2 → c), residual(c → c)                                  → B×h×h×c
 *           (stem "learned": residual(c/2 → c) before the pools, at the stride-2 side)
 *   └ stack s = 1..stacks:
 *       hourglass(depth)   recursive: up = blocks×residual at this scale;
 *                          low = avg-pool 2×2 → blocks×residual → (hourglass(depth−1) or blocks×residual)
 *                                → blocks×residual → nearest up-sample ×2;  out = up + low
 *       blocks×residual → conv 1×1 → BN → ReLU                                  = features (B×h×h×c)
 *       head: conv 1×1 (+bias) c → K                                              = heatmap logits (B×h×h×K)
 *       if not the last stack: x ← x + conv1×1(features) + conv1×1(heatmaps)      (remap into the stream)
 *
 * Residual = Newell's pre-activation bottleneck: BN→ReLU→conv1×1(c/2) → BN→ReLU→conv3×3(c/2) →
 * BN→ReLU→conv1×1(c), plus the input (through a 1×1 conv when the channel count changes).
 *
 * Deviations from the paper, and why: down-sampling is 2×2 average pooling instead of max-pooling (the
 * wasm backend's max-pool gradient is wrong for batch > 1 and avg-pool is as good for hourglasses), and
 * the stem runs its first residual after pooling (a 64×64 input would otherwise spend a third of the
 * network's FLOPs at 32×32). Convolutions followed by batch-norm have no bias.
 *
 * Batch-norm is written from explicit reductions with a hand-derived gradient (`batchNorm` in
 * backend/ops.ts): tfjs's generic batch-norm gradient spends most of its time in Tile on the wasm backend. Every
 * batch-norm is followed by a ReLU, so the layer is one op, `batchNormRelu` (one kernel each way on the native
 * backend). Running statistics use PyTorch's convention (momentum 0.1, unbiased variance, eps 1e-5) and are
 * updated on every forward pass with `training = true`. Convolutions with a bias use tfjs's fused conv2d.
 *
 * Everything is NHWC. `forward` returns heatmap logits; `softArgmax` (backend/ops.ts) turns them into
 * coordinates.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng, assertModelConfig } from "@lml/core";
import { batchNormRelu, downsample2x, upsample2x } from "./backend/ops";
import { ParamRegistry } from "./params";

/** The model knobs: @lml/core's ModelConfig plus the landmark count of the scheme being trained. */
export interface HourglassConfig {
  /** Input image side in pixels (square images). */
  inputSize: number;
  /** 1 = grayscale, 3 = RGB. */
  inputChannels: 1 | 3;
  /** Stacked hourglasses; each gets a supervised heatmap head. */
  stacks: number;
  /** Feature channels in the hourglass (residual blocks use channels/2 inside). Even. */
  channels: number;
  /** Down-sampling levels per hourglass; heatmapSize must be divisible by 2^depth. */
  depth: number;
  /** Residual blocks at each place the diagram above says "blocks×residual". */
  blocks: number;
  /** Heatmap side; inputSize / heatmapSize must be a power of two (1, 2, 4, …). */
  heatmapSize: number;
  /** Heatmap channels = landmarks of the scheme. */
  landmarks: number;
  /** "pooled" (default) or "learned": where the stem's first residual runs (see the diagram). */
  stem?: "pooled" | "learned";
}

export interface Hourglass {
  config: HourglassConfig;
  /** What the optimiser updates (convolution weights and biases, batch-norm scales and offsets). */
  trainableVariables: tf.Variable[];
  /**
   * heatmaps: one B×h×h×K logit map per stack (intermediate supervision: put a loss on every one).
   * features: B×h×h×c, the input of the last stack's head. With `training` batch-norm uses batch
   * statistics and updates its running statistics; without, it uses the running statistics.
   */
  forward(x: tf.Tensor4D, training: boolean): { heatmaps: tf.Tensor4D[]; features: tf.Tensor4D };
  /** The last stack's heatmap head, features → logits (reused as DALN's discriminator). */
  head(features: tf.Tensor4D): tf.Tensor4D;
  /**
   * All state, trainable and not (batch-norm running mean/var), by stable names such as
   * "stack1.hg.d2.up.0.conv2.w". The tensors are the live variables: read them, do not dispose them.
   */
  getState(): tf.NamedTensorMap;
  /** Copies values into the variables; every name of getState() must be present with the same shape. */
  setState(m: tf.NamedTensorMap): void;
  /** Number of trainable scalars. */
  paramCount(): number;
  /** Forward FLOPs per image: 2 × multiply-adds of the convolutions (element-wise ops not counted). */
  flopsPerImage(): number;
  dispose(): void;
}

type Apply = (x: tf.Tensor4D, training: boolean) => tf.Tensor4D;

export function createHourglass(cfg: HourglassConfig, seed: number): Hourglass {
  assertModelConfig(cfg, "HourglassConfig");
  const config = { ...cfg };
  const rng = new Rng(seed);
  const params = new ParamRegistry(() => rng.normalFromComplement());
  let macs = 0; // multiply-adds per image, summed as the layers are built

  // ---- layers: each creates its parameters now and returns how to apply them --------------------------

  /** k×k convolution, 'same' padding. `side` is the output side, for the FLOP count. */
  function conv(name: string, k: number, cin: number, cout: number, side: number, o: { stride?: number; bias?: boolean } = {}): Apply {
    const stride = o.stride ?? 1;
    const W = params.he(`${name}.w`, [k, k, cin, cout], k * k * cin);
    const B = o.bias ? params.zeros(`${name}.b`, [cout]) : null;
    macs += side * side * k * k * cin * cout;
    return (x) =>
      B
        ? tf.fused.conv2d({ x, filter: W as tf.Tensor4D, strides: stride, pad: "same", bias: B })
        : tf.conv2d(x, W as tf.Tensor4D, stride, "same");
  }

  /** Batch-norm then ReLU (every batch-norm of the network is followed by a ReLU). */
  function bnRelu(name: string, c: number): Apply {
    const gamma = params.ones(`${name}.gamma`, [c]) as tf.Variable<tf.Rank.R1>;
    const beta = params.zeros(`${name}.beta`, [c]) as tf.Variable<tf.Rank.R1>;
    const mean = params.buffer(`${name}.mean`, [c], 0) as tf.Variable<tf.Rank.R1>;
    const variance = params.buffer(`${name}.var`, [c], 1) as tf.Variable<tf.Rank.R1>;
    return (x, training) => batchNormRelu(x, gamma, beta, { mean, variance }, training);
  }

  const pool: Apply = (x) => downsample2x(x);
  const upsample: Apply = (x) => upsample2x(x);

  /** Pre-activation bottleneck residual block. */
  function residual(name: string, cin: number, cout: number, side: number): Apply {
    const mid = cout / 2;
    const bn1 = bnRelu(`${name}.bn1`, cin);
    const conv1 = conv(`${name}.conv1`, 1, cin, mid, side);
    const bn2 = bnRelu(`${name}.bn2`, mid);
    const conv2 = conv(`${name}.conv2`, 3, mid, mid, side);
    const bn3 = bnRelu(`${name}.bn3`, mid);
    const conv3 = conv(`${name}.conv3`, 1, mid, cout, side);
    const skip = cin === cout ? null : conv(`${name}.skip`, 1, cin, cout, side);
    return (x, t) => {
      let y = conv1(bn1(x, t), t);
      y = conv2(bn2(y, t), t);
      y = conv3(bn3(y, t), t);
      return tf.add(y, skip ? skip(x, t) : x);
    };
  }

  function residuals(name: string, c: number, side: number): Apply {
    const blocks = Array.from({ length: config.blocks }, (_, i) => residual(`${name}.${i}`, c, c, side));
    return (x, t) => blocks.reduce((y, block) => block(y, t), x);
  }

  function hourglass(name: string, depth: number, c: number, side: number): Apply {
    const up = residuals(`${name}.d${depth}.up`, c, side);
    const low1 = residuals(`${name}.d${depth}.low1`, c, side / 2);
    const low2 = depth > 1 ? hourglass(name, depth - 1, c, side / 2) : residuals(`${name}.d${depth}.low2`, c, side / 2);
    const low3 = residuals(`${name}.d${depth}.low3`, c, side / 2);
    return (x, t) => tf.add(up(x, t), upsample(low3(low2(low1(pool(x, t), t), t), t), t));
  }

  // ---- the network --------------------------------------------------------------------------------------

  const c = config.channels;
  const h = config.heatmapSize;
  const ratio = config.inputSize / h;
  const stemStride = ratio >= 2 ? 2 : 1;
  const stemPools = Math.log2(ratio / stemStride);
  const stemConv = conv("stem.conv", 7, config.inputChannels, c / 2, config.inputSize / stemStride, { stride: stemStride });
  const stemBn = bnRelu("stem.bn", c / 2);
  const learnedStem = config.stem === "learned";
  const stemRes1 = residual("stem.res1", c / 2, c, learnedStem ? config.inputSize / stemStride : h);
  const stemRes2 = residual("stem.res2", c, c, h);

  const stacks = Array.from({ length: config.stacks }, (_, s) => {
    const name = `stack${s + 1}`;
    const hg = hourglass(`${name}.hg`, config.depth, c, h);
    const post = residuals(`${name}.post`, c, h);
    const lin = conv(`${name}.lin`, 1, c, c, h);
    const linBn = bnRelu(`${name}.lin.bn`, c);
    const head = conv(`${name}.head`, 1, c, config.landmarks, h, { bias: true });
    const last = s === config.stacks - 1;
    const remapF = last ? null : conv(`${name}.remapFeatures`, 1, c, c, h, { bias: true });
    const remapH = last ? null : conv(`${name}.remapHeatmaps`, 1, config.landmarks, c, h, { bias: true });
    return { hg, post, lin, linBn, head, remapF, remapH };
  });

  const forward = (x: tf.Tensor4D, training: boolean) =>
    tf.tidy(() => {
      let y = stemBn(stemConv(x, training), training);
      if (learnedStem) y = stemRes1(y, training);
      for (let i = 0; i < stemPools; i++) y = pool(y, training);
      y = stemRes2(learnedStem ? y : stemRes1(y, training), training);
      const heatmaps: tf.Tensor4D[] = [];
      let features!: tf.Tensor4D;
      for (const st of stacks) {
        const z = st.post(st.hg(y, training), training);
        features = st.linBn(st.lin(z, training), training);
        const hm = st.head(features, training);
        heatmaps.push(hm);
        if (st.remapF && st.remapH) y = tf.addN([y, st.remapF(features, training), st.remapH(hm, training)]);
      }
      return { heatmaps, features };
    });

  const lastHead = stacks[stacks.length - 1].head;

  return {
    config,
    trainableVariables: params.variables,
    forward,
    head: (features) => tf.tidy(() => lastHead(features, false)),
    getState: () => params.named,
    setState(m) {
      const vars = params.named;
      const missing = Object.keys(vars).filter((k) => !(k in m));
      if (missing.length) throw new Error(`setState: missing ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(", ")}`);
      for (const [k, v] of Object.entries(vars)) {
        if (!tf.util.arraysEqual(v.shape, m[k].shape)) {
          throw new Error(`setState: ${k} has shape [${m[k].shape}], the model expects [${v.shape}]`);
        }
      }
      for (const [k, v] of Object.entries(vars)) v.assign(m[k]);
    },
    paramCount: () => params.count(),
    flopsPerImage: () => 2 * macs,
    dispose: () => params.dispose(),
  };
}
