/**
 * The tensor operations the networks are built from where tfjs's own are slow or wrong on the wasm
 * backend: training-mode batch-norm (fused wasm kernels when registered, else explicit reductions with a
 * closed-form gradient), ×2 nearest up-sampling and 2×2 average pooling with hand-written gradients, and
 * soft-argmax. Each is tested against the cpu backend (test/backend-kernels.test.ts); the measurements
 * behind them are in bench/README.md.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./gradients.js";

// Networks are trained with tfjs autodiff: make sure the gradient registry is filled even when the
// caller picked a backend without initBackend.
registerAllGradients();

/** Batch-norm epsilon and running-statistics momentum (PyTorch's defaults, so checkpoints compare). */
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

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
  // On wasm the same arithmetic runs as two fused kernels (wasm-kernels.ts): one tfjs kernel
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

/** A batch-norm's running statistics (not trained: updated by every training-mode forward pass). */
export interface RunningStats {
  mean: tf.Variable;
  variance: tf.Variable;
}

/**
 * Batch-norm followed by ReLU, the pre-activation unit of the network. In training mode it normalises
 * with the batch statistics and moves the running statistics towards them (PyTorch's convention:
 * running ← (1 − momentum)·running + momentum·batch, the variance unbiased, n/(n−1)); in evaluation mode
 * it uses the running statistics.
 *
 * Backends that register the LmlBatchNormRelu* kernels (the native one) do each direction in one
 * kernel: forward
 *   LmlBatchNormReluTrain  x, gamma, beta, runningMean, runningVar; eps, momentum
 *                          → y, mean, rstd, new runningMean, new runningVar
 *   LmlBatchNormReluGrad   dy, x, y, mean, rstd, gamma → dx, dgamma, dbeta
 *   LmlBatchNormReluInfer  x, gamma, beta, mean, variance; eps → y
 * instead of a batch-norm kernel, a ReLU with its three-kernel gradient and six running-statistics ops
 * (whose tfjs bookkeeping, the tape and the clones of saved tensors, cost more than their arithmetic).
 * Other backends compose `batchNorm` and tf ops, with the same results.
 */
export function batchNormRelu(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  running: RunningStats,
  training: boolean,
  eps = BN_EPS,
  momentum = BN_MOMENTUM,
): tf.Tensor4D {
  const backend = tf.getBackend();
  if (!training) {
    if (tf.getKernel("LmlBatchNormReluInfer", backend)) {
      return tf.engine().runKernel("LmlBatchNormReluInfer", { x, gamma, beta, mean: running.mean, variance: running.variance }, { eps }) as tf.Tensor4D;
    }
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(running.variance, eps)));
    return tf.relu(tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(running.mean, scale)))) as tf.Tensor4D;
  }
  if (tf.getKernel("LmlBatchNormReluTrain", backend)) {
    let next: tf.Tensor[] = [];
    const op = tf.customGrad((xIn, gIn, bIn, save) => {
      const inputs = { x: xIn as tf.Tensor, gamma: gIn as tf.Tensor, beta: bIn as tf.Tensor, runningMean: running.mean, runningVar: running.variance };
      const [y, mean, rstd, runningMean, runningVar] = tf.engine().runKernel("LmlBatchNormReluTrain", inputs, { eps, momentum }) as tf.Tensor[];
      next = [tf.keep(runningMean), tf.keep(runningVar)];
      (save as tf.GradSaveFunc)([xIn as tf.Tensor, y, mean, rstd, gIn as tf.Tensor]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, ys, ms, rs, gs]: tf.Tensor[]) =>
          tf.engine().runKernel("LmlBatchNormReluGrad", { dy, x: xs, y: ys, mean: ms, rstd: rs, gamma: gs }, {}) as tf.Tensor[],
      };
    });
    const y = op(x, gamma, beta) as tf.Tensor4D;
    running.mean.assign(next[0]);
    running.variance.assign(next[1]);
    tf.dispose(next);
    return y;
  }
  const out = batchNorm(x, gamma, beta, eps);
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  const unbiased = n > 1 ? n / (n - 1) : 1;
  running.mean.assign(tf.add(tf.mul(running.mean, 1 - momentum), tf.mul(out.mean, momentum)));
  running.variance.assign(tf.add(tf.mul(running.variance, 1 - momentum), tf.mul(out.variance, momentum * unbiased)));
  out.mean.dispose();
  out.variance.dispose();
  return tf.relu(out.y);
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
