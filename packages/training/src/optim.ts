/**
 * The optimiser and its schedule: AdamW (Adam with decoupled weight decay) and the learning rate of each
 * step (`train.lrSchedule`).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { RunConfig } from "@lml/core";

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), run on the host: its state (moments and step
 * count) is two Float32Arrays that a checkpoint stores and restores bit for bit. Doing it with tensor
 * ops cost ~15 tiny kernels per variable (~2,700 per step for a 2-stack hourglass), 75 ms of a 380 ms
 * wasm step; one JS loop over ~10⁵ floats is a few ms. On a GPU backend it costs one gradient download
 * and one weight upload per step, small next to a step.
 */
export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  t = 0;
  private readonly offsets: number[] = [];
  constructor(
    readonly vars: tf.Variable[],
    readonly beta1: number,
    readonly beta2: number,
    readonly eps = 1e-8,
  ) {
    let total = 0;
    for (const x of vars) {
      this.offsets.push(total);
      total += x.size;
    }
    this.m = new Float32Array(total);
    this.v = new Float32Array(total);
  }

  apply(grads: tf.NamedTensorMap, lr: number, weightDecay: number): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, m, v } = this;
    const step = lr / (1 - b1 ** this.t);
    const c2 = 1 - b2 ** this.t;
    const decay = 1 - lr * weightDecay;
    // The native backend does the same update (bit for bit) over every variable in one kernel call.
    if (tf.getKernel("LmlAdamW", tf.getBackend())) {
      const inputs: tf.NamedTensorMap = {};
      this.vars.forEach((variable, i) => {
        inputs[`p${i}`] = variable;
        const grad = grads[variable.name];
        if (grad) inputs[`g${i}`] = grad;
      });
      const attrs = { count: this.vars.length, m, v, beta1: b1, beta2: b2, eps, step, c2, decay };
      const next = tf.engine().runKernel("LmlAdamW", inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      this.vars.forEach((variable, i) => variable.assign(next[i]));
      tf.dispose(next);
      return;
    }
    this.vars.forEach((variable, i) => {
      const grad = grads[variable.name];
      const g = grad ? grad.dataSync() : null; // a variable this regime's loss does not touch: g = 0
      const x = Float32Array.from(variable.dataSync());
      const o = this.offsets[i];
      for (let k = 0; k < x.length; k++) {
        const gk = g ? g[k] : 0;
        const mk = (m[o + k] = b1 * m[o + k] + (1 - b1) * gk);
        const vk = (v[o + k] = b2 * v[o + k] + (1 - b2) * gk * gk);
        x[k] = x[k] * decay - (step * mk) / (Math.sqrt(vk / c2) + eps);
      }
      const next = tf.tensor(x, variable.shape, "float32");
      variable.assign(next);
      next.dispose();
    });
  }

  dispose(): void {}
}

/** The run's optimiser over `variables`: AdamW with `train.adamBeta1` and `train.adamBeta2`. */
export function createOptimiser(config: RunConfig, variables: tf.Variable[]): AdamW {
  return new AdamW(variables, config.train.adamBeta1, config.train.adamBeta2);
}

/** The learning rate of `step`: `train.lrSchedule` "cosine" decays from lr to lr/10 over the run, "constant" keeps lr. */
export function learningRate(config: RunConfig, step: number, totalSteps: number): number {
  if (config.train.lrSchedule === "constant") return config.train.lr;
  const p = Math.min(1, step / Math.max(1, totalSteps));
  return config.train.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
}
