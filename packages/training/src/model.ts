/**
 * The stacked HourglassNet (Newell, Yang & Deng, "Stacked Hourglass Networks for Human Pose Estimation",
 * ECCV 2016), in one file you can read top to bottom.
 *
 *   image B×S×S×Cin
 *   └ stem: conv 7×7 stride 2 → BN → ReLU, avg-pool 2×2 until the side is `heatmapSize`,
 *           residual(c/2 → c), residual(c → c)                                  → B×h×h×c
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
 * Batch-norm is written from explicit reductions with a hand-derived gradient (`batchNorm` below):
 * tfjs's generic batch-norm gradient spends most of its time in Tile on the wasm backend. Running
 * statistics use PyTorch's convention (momentum 0.1, unbiased variance, eps 1e-5) and are updated on every
 * forward pass with `training = true`.
 *
 * Everything is NHWC. `forward` returns heatmap logits; `softArgmax` turns them into coordinates.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./backend/gradients.js";

// The model is trained with tfjs autodiff: make sure the gradient registry is filled even when the caller
// picked a backend without initBackend.
registerAllGradients();

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

/** Batch-norm epsilon and running-statistics momentum (PyTorch's defaults, so checkpoints compare). */
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

/**
 * Training-mode batch-norm over N·H·W per channel, with the closed-form gradient
 *   dx = γ·rstd/n · (n·dy − Σdy − x̂·Σ(dy·x̂)),  dγ = Σ(dy·x̂),  dβ = Σdy
 * which needs four reductions and a handful of broadcasts, instead of the generic chain of Tile ops.
 * Returns the normalised output and the batch mean and (biased) variance for the running statistics.
 */
export function batchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps = BN_EPS,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const axes = [0, 1, 2];
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  // The statistics are returned outside the gradient path: running stats never receive gradients.
  // Written so that every full-size pass counts (3 forward, 5 backward, plus 2 per-channel means each
  // way); everything per-channel is a 1-D op. Variance as E[x²] − E[x]² is safe here: the inputs are
  // conv outputs / residual streams whose mean is not thousands of standard deviations.
  let mean!: tf.Tensor1D;
  let variance!: tf.Tensor1D;
  // On wasm the same arithmetic runs as two fused kernels (backend/wasm-kernels.ts): one tfjs kernel
  // call each way instead of ~17 and ~20, which is most of the per-op overhead of a training step.
  const fused = tf.getKernel("LmlBatchNormTrain", tf.getBackend()) !== undefined;
  const op = fused
    ? tf.customGrad((xIn, gIn, bIn, save) => {
        const [y, m, v, rstd] = tf.engine().runKernel("LmlBatchNormTrain", { x: xIn as tf.Tensor, gamma: gIn as tf.Tensor, beta: bIn as tf.Tensor }, { eps }) as tf.Tensor[];
        mean = tf.keep(m as tf.Tensor1D);
        variance = tf.keep(v as tf.Tensor1D);
        (save as tf.GradSaveFunc)([xIn as tf.Tensor, m, rstd, gIn as tf.Tensor]);
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [x, m, rstd, g] = saved;
            return tf.engine().runKernel("LmlBatchNormGrad", { dy, x, mean: m, rstd, gamma: g }, {}) as tf.Tensor[];
          },
        };
      })
    : tf.customGrad((xIn, gIn, bIn, save) => {
        const x = xIn as tf.Tensor4D;
        const g = gIn as tf.Tensor1D;
        const b = bIn as tf.Tensor1D;
        mean = tf.keep(tf.mean(x, axes));
        variance = tf.keep(tf.relu(tf.sub(tf.mean(tf.square(x), axes), tf.square(mean))) as tf.Tensor1D);
        const rstd = tf.rsqrt(tf.add(variance, eps));
        const scale = tf.mul(g, rstd);
        const y = tf.add(tf.mul(x, scale), tf.sub(b, tf.mul(mean, scale)));
        (save as tf.GradSaveFunc)([x, mean, rstd, g]);
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [x, mean, rstd, g] = saved;
            // With x̂ = (x − μ)·rstd:  dβ = Σdy,  dγ = Σdy·x̂ = rstd·(Σdy·x − μ·Σdy),
            // dx = γ·rstd·(dy − dβ/n − x̂·dγ/n) = A·dy + B·x + C per channel.
            const dBeta = tf.sum(dy, axes);
            const dGamma = tf.mul(rstd, tf.sub(tf.sum(tf.mul(dy, x), axes), tf.mul(mean, dBeta)));
            const A = tf.mul(g, rstd);
            const B = tf.neg(tf.div(tf.mul(tf.mul(A, rstd), dGamma), n));
            const C = tf.sub(tf.neg(tf.div(tf.mul(A, dBeta), n)), tf.mul(B, mean));
            const dx = tf.add(tf.add(tf.mul(dy, A), tf.mul(x, B)), C);
            return [dx, dGamma, dBeta];
          },
        };
      });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  return { y, mean, variance };
}

/**
 * Nearest-neighbour ×2 up-sampling. Its gradient is 2×2 sum-pooling (the adjoint), computed as 4×avg-pool,
 * which the wasm backend runs through XNNPACK. Written by hand because the wasm backend's
 * ResizeNearestNeighborGrad disagrees with the cpu backend's (test/backend-kernels.test.ts).
 */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((xIn) => {
    const x = xIn as tf.Tensor4D;
    const [B, h, w, C] = x.shape;
    const cols = tf.concat([tf.reshape(x, [B, h, w, 1, C]), tf.reshape(x, [B, h, w, 1, C])], 3); // B×h×w×2×C
    const rows = tf.concat([tf.reshape(cols, [B, h, 1, w * 2 * C]), tf.reshape(cols, [B, h, 1, w * 2 * C])], 2);
    return {
      value: tf.reshape(rows, [B, h * 2, w * 2, C]),
      gradFunc: (dy: tf.Tensor) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, "valid"), 4),
    };
  });
  return op(x) as tf.Tensor4D;
}

/**
 * 2×2 average pooling, stride 2, whose gradient is upsample2x(dy)/4: the wasm backend's AvgPoolGrad is a
 * scalar loop (~10 ms on the stem's 16×32×32×32), this is two concatenations and a multiply.
 */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((xIn) => ({
    value: tf.avgPool(xIn as tf.Tensor4D, 2, 2, "valid"),
    gradFunc: (dy: tf.Tensor) => tf.mul(upsample2x(dy as tf.Tensor4D), 0.25),
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Soft-argmax (integral regression): softmax over each landmark's h×w logits, then the expected cell
 * centre. Pixel-centre convention: heatmap cell (i, j) covers [j/w, (j+1)/w) × [i/h, (i+1)/h) of the
 * image and stands for its centre ((j+½)/w, (i+½)/h). The result is B×K×2 of (x, y) as fractions of the
 * image side; multiply by the image side to get the repo's pixel coordinates (pixel i covers [i, i+1)).
 */
export function softArgmax(heatmaps: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, h, w, K] = heatmaps.shape;
    const logits = tf.transpose(tf.reshape(heatmaps, [B, h * w, K]), [0, 2, 1]); // B×K×hw
    const p = tf.softmax(logits); // over the last axis
    const grid = new Float32Array(h * w * 2);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        grid[(i * w + j) * 2] = (j + 0.5) / w;
        grid[(i * w + j) * 2 + 1] = (i + 0.5) / h;
      }
    }
    const xy = tf.matMul(tf.reshape(p, [B * K, h * w]), tf.tensor2d(grid, [h * w, 2]));
    return tf.reshape(xy, [B, K, 2]) as tf.Tensor3D;
  });
}

/** A small seeded generator (mulberry32 + Box–Muller), so initial weights do not depend on the backend. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

function validate(cfg: HourglassConfig): void {
  const ratio = cfg.inputSize / cfg.heatmapSize;
  const problems: string[] = [];
  if (!Number.isInteger(ratio) || (ratio & (ratio - 1)) !== 0) problems.push("inputSize / heatmapSize must be a power of two");
  if (cfg.heatmapSize % 2 ** cfg.depth !== 0) problems.push(`heatmapSize ${cfg.heatmapSize} must be divisible by 2^depth = ${2 ** cfg.depth}`);
  if (cfg.channels % 2 !== 0) problems.push("channels must be even");
  for (const k of ["stacks", "channels", "depth", "blocks", "landmarks"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) problems.push(`${k} must be a positive integer`);
  }
  if (cfg.inputChannels !== 1 && cfg.inputChannels !== 3) problems.push("inputChannels must be 1 or 3");
  if (problems.length) throw new Error(`HourglassConfig: ${problems.join("; ")}`);
}

export function createHourglass(cfg: HourglassConfig, seed: number): Hourglass {
  validate(cfg);
  const config = { ...cfg };
  const randn = gaussian(seed);
  const params = new Map<string, tf.Variable>(); // trainable, in creation order
  const stats = new Map<string, tf.Variable>(); // batch-norm running statistics
  let macs = 0; // multiply-adds per image, summed as the layers are built

  // Variables are created inside tidy so that their initial-value tensors are not left behind.
  const variable = (init: () => tf.Tensor, trainable: boolean) => tf.tidy(() => tf.variable(init(), trainable));

  // ---- layers: each creates its parameters now and returns how to apply them --------------------------

  /** k×k convolution, 'same' padding. `side` is the output side, for the FLOP count. */
  function conv(name: string, k: number, cin: number, cout: number, side: number, o: { stride?: number; bias?: boolean } = {}): Apply {
    const stride = o.stride ?? 1;
    const std = Math.sqrt(2 / (k * k * cin)); // He et al. 2015, fan-in
    const w = new Float32Array(k * k * cin * cout).map(() => randn() * std);
    const W = variable(() => tf.tensor4d(w, [k, k, cin, cout]), true);
    params.set(`${name}.w`, W);
    let B: tf.Variable | null = null;
    if (o.bias) params.set(`${name}.b`, (B = variable(() => tf.zeros([cout]), true)));
    macs += side * side * k * k * cin * cout;
    return (x) => {
      const y = tf.conv2d(x, W as tf.Tensor4D, stride, "same");
      return B ? tf.add(y, B) : y;
    };
  }

  function bn(name: string, c: number): Apply {
    const gamma = variable(() => tf.ones([c]), true) as tf.Variable<tf.Rank.R1>;
    const beta = variable(() => tf.zeros([c]), true) as tf.Variable<tf.Rank.R1>;
    const mean = variable(() => tf.zeros([c]), false) as tf.Variable<tf.Rank.R1>;
    const variance = variable(() => tf.ones([c]), false) as tf.Variable<tf.Rank.R1>;
    params.set(`${name}.gamma`, gamma);
    params.set(`${name}.beta`, beta);
    stats.set(`${name}.mean`, mean);
    stats.set(`${name}.var`, variance);
    return (x, training) => {
      if (!training) {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPS)));
        return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale)));
      }
      const out = batchNorm(x, gamma, beta);
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const unbiased = n > 1 ? n / (n - 1) : 1;
      mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(out.mean, BN_MOMENTUM)));
      variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(out.variance, BN_MOMENTUM * unbiased)));
      out.mean.dispose();
      out.variance.dispose();
      return out.y;
    };
  }

  const relu = (x: tf.Tensor4D) => tf.relu(x);
  const pool: Apply = (x) => downsample2x(x);
  const upsample: Apply = (x) => upsample2x(x);

  /** Pre-activation bottleneck residual block. */
  function residual(name: string, cin: number, cout: number, side: number): Apply {
    const mid = cout / 2;
    const bn1 = bn(`${name}.bn1`, cin);
    const conv1 = conv(`${name}.conv1`, 1, cin, mid, side);
    const bn2 = bn(`${name}.bn2`, mid);
    const conv2 = conv(`${name}.conv2`, 3, mid, mid, side);
    const bn3 = bn(`${name}.bn3`, mid);
    const conv3 = conv(`${name}.conv3`, 1, mid, cout, side);
    const skip = cin === cout ? null : conv(`${name}.skip`, 1, cin, cout, side);
    return (x, t) => {
      let y = conv1(relu(bn1(x, t)), t);
      y = conv2(relu(bn2(y, t)), t);
      y = conv3(relu(bn3(y, t)), t);
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
  const stemBn = bn("stem.bn", c / 2);
  const stemRes1 = residual("stem.res1", c / 2, c, h);
  const stemRes2 = residual("stem.res2", c, c, h);

  const stacks = Array.from({ length: config.stacks }, (_, s) => {
    const name = `stack${s + 1}`;
    const hg = hourglass(`${name}.hg`, config.depth, c, h);
    const post = residuals(`${name}.post`, c, h);
    const lin = conv(`${name}.lin`, 1, c, c, h);
    const linBn = bn(`${name}.lin.bn`, c);
    const head = conv(`${name}.head`, 1, c, config.landmarks, h, { bias: true });
    const last = s === config.stacks - 1;
    const remapF = last ? null : conv(`${name}.remapFeatures`, 1, c, c, h, { bias: true });
    const remapH = last ? null : conv(`${name}.remapHeatmaps`, 1, config.landmarks, c, h, { bias: true });
    return { hg, post, lin, linBn, head, remapF, remapH };
  });

  const forward = (x: tf.Tensor4D, training: boolean) =>
    tf.tidy(() => {
      let y = relu(stemBn(stemConv(x, training), training));
      for (let i = 0; i < stemPools; i++) y = pool(y, training);
      y = stemRes2(stemRes1(y, training), training);
      const heatmaps: tf.Tensor4D[] = [];
      let features!: tf.Tensor4D;
      for (const st of stacks) {
        const z = st.post(st.hg(y, training), training);
        features = relu(st.linBn(st.lin(z, training), training));
        const hm = st.head(features, training);
        heatmaps.push(hm);
        if (st.remapF && st.remapH) y = tf.addN([y, st.remapF(features, training), st.remapH(hm, training)]);
      }
      return { heatmaps, features };
    });

  const lastHead = stacks[stacks.length - 1].head;
  const all = () => new Map([...params, ...stats]);

  return {
    config,
    trainableVariables: [...params.values()],
    forward,
    head: (features) => tf.tidy(() => lastHead(features, false)),
    getState: () => Object.fromEntries(all()),
    setState(m) {
      const vars = all();
      const missing = [...vars.keys()].filter((k) => !(k in m));
      if (missing.length) throw new Error(`setState: missing ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(", ")}`);
      for (const [k, v] of vars) {
        if (!tf.util.arraysEqual(v.shape, m[k].shape)) {
          throw new Error(`setState: ${k} has shape [${m[k].shape}], the model expects [${v.shape}]`);
        }
      }
      for (const [k, v] of vars) v.assign(m[k]);
    },
    paramCount: () => [...params.values()].reduce((n, v) => n + v.size, 0),
    flopsPerImage: () => 2 * macs,
    dispose() {
      for (const v of all().values()) v.dispose();
    },
  };
}
