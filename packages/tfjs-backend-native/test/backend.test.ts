/**
 * The backend's own machinery: the output-buffer pool never hands out memory that something can still
 * see, the fused optimiser and batch-norm+ReLU kernels give the reference answers, threads do not
 * change results, and LML_THREADS is validated.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it, vi } from "vitest";
import { threadsFromEnv } from "../src/index.js";
import { registerAllGradients } from "./gradients.js";
import { addonCalls, input, nativeAvailable, on, relErr, TOLERANCE } from "./helpers.js";

// Hundreds of small comparisons; two shared cores under load need more than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000 });

registerAllGradients();

/** Runs `count` same-size native ops with all outputs alive at once, so that they empty the pool. */
function drainPool(like: tf.Tensor, count = 8): void {
  const outs = Array.from({ length: count }, (_, i) => tf.mul(like, 100 + i));
  tf.dispose(outs);
}

const native = () => tf.findBackend("native") as unknown as { addon: import("../src/addon.js").NativeAddon; poolStats: { reused: number } };

describe.skipIf(!nativeAvailable)("the output-buffer pool", () => {
  it("reuses the buffer of a disposed kernel output for the next output of the same size", () => {
    tf.setBackend("native");
    const x = tf.ones([64, 64]);
    tf.tidy(() => void tf.exp(x));
    const before = native().poolStats.reused;
    tf.tidy(() => void tf.exp(x));
    expect(native().poolStats.reused).toBe(before + 1);
    x.dispose();
  });

  it("never reuses an array that dataSync() handed out", () => {
    tf.setBackend("native");
    const x = tf.ones([256]);
    const y = tf.exp(x);
    const seen = y.dataSync();
    y.dispose();
    drainPool(x); // same size: would reuse y's buffer
    expect(seen[0]).toBeCloseTo(Math.E, 5);
    x.dispose();
  });

  it("never reuses a buffer while a view of it (the cpu backend's contiguous Slice) is alive", () => {
    tf.setBackend("native");
    const x = tf.ones([8, 32]);
    const y = tf.exp(x); // a pool buffer
    const part = tf.slice(y, [2, 0], [2, 32]); // a subarray of y's buffer on this backend
    y.dispose();
    drainPool(x);
    expect(Array.from(part.dataSync()).every((v) => Math.abs(v - Math.E) < 1e-5)).toBe(true);
    tf.dispose([x, part]);
  });

  it("never reuses memory it did not allocate (arrays passed to tf.tensor)", () => {
    tf.setBackend("native");
    const mine = new Float32Array(128).fill(3);
    const t = tf.tensor(mine);
    const y = tf.add(t, 1);
    tf.dispose([t, y]);
    const like = tf.ones([128]);
    drainPool(like);
    like.dispose();
    expect(Array.from(mine).every((v) => v === 3)).toBe(true);
  });
});

describe.skipIf(!nativeAvailable)("fused kernels", () => {
  it("LmlAdamW gives the JS AdamW loop's weights and moments bit for bit", () => {
    tf.setBackend("native");
    const shapes = [[3, 4], [7], [2, 2, 5]];
    const params = shapes.map((s, i) => tf.tensor(input(s, 30 + i).data, s));
    const grads = shapes.map((s, i) => (i === 1 ? null : tf.tensor(input(s, 40 + i).data, s))); // one untouched variable
    const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    const m = input([total], 50).data.map((v) => v / 10);
    const v = input([total], 51).data.map((x) => Math.abs(x) / 100);
    const [b1, b2, eps, lr, wd, t] = [0.9, 0.999, 1e-8, 4e-3, 1e-4, 7];
    const step = lr / (1 - b1 ** t);
    const c2 = 1 - b2 ** t;
    const decay = 1 - lr * wd;
    // Reference: the JS loop of packages/training's AdamW.apply.
    const refM = Float32Array.from(m);
    const refV = Float32Array.from(v);
    const refX: Float32Array[] = [];
    let o = 0;
    params.forEach((p, i) => {
      const g = grads[i]?.dataSync() ?? null;
      const x = Float32Array.from(p.dataSync());
      for (let k = 0; k < x.length; k++) {
        const gk = g ? g[k] : 0;
        const mk = (refM[o + k] = b1 * refM[o + k] + (1 - b1) * gk);
        const vk = (refV[o + k] = b2 * refV[o + k] + (1 - b2) * gk * gk);
        x[k] = x[k] * decay - (step * mk) / (Math.sqrt(vk / c2) + eps);
      }
      o += x.length;
      refX.push(x);
    });
    const inputs: tf.NamedTensorMap = {};
    params.forEach((p, i) => (inputs[`p${i}`] = p));
    grads.forEach((g, i) => g && (inputs[`g${i}`] = g));
    const attrs = { count: params.length, m, v, beta1: b1, beta2: b2, eps, step, c2, decay };
    const next = tf.engine().runKernel("LmlAdamW", inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    next.forEach((n, i) => expect(Array.from(n.dataSync())).toEqual(Array.from(refX[i])));
    expect(Array.from(m)).toEqual(Array.from(refM));
    expect(Array.from(v)).toEqual(Array.from(refV));
    tf.dispose([...params, ...next, ...grads.filter((g): g is tf.Tensor => g !== null)]);
  });

  describe("batch-norm + ReLU kernels against the formula on cpu", () => {
    const eps = 1e-5;
    const momentum = 0.1;
    for (const shape of [
      [4, 5, 6, 7],
      [2, 16, 16, 32],
    ]) {
      it(`x ${shape.join("×")}: training (y, running statistics, dx, dγ, dβ) and inference`, () => {
        const C = shape[shape.length - 1];
        const n = shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const x = input(shape, 60);
        x.data = x.data.map((v, i) => 2 * v + (i % C) * 0.3);
        const ins = [
          x,
          { shape: [C], data: input([C], 61).data.map((v) => 1 + v / 2) },
          input([C], 62),
          input([C], 63),
          { shape: [C], data: input([C], 64).data.map((v) => 1 + Math.abs(v)) },
        ];
        const reference = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor, rm: tf.Tensor, rv: tf.Tensor) => {
          const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
            const { mean, variance } = tf.moments(a, [0, 1, 2]);
            return tf.relu(tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, eps))), c), d));
          };
          const { mean, variance } = tf.moments(xs, [0, 1, 2]);
          const w = tf.tensor(input(shape, 65).data, shape);
          const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), w)))([xs, g, b]);
          const newMean = tf.add(tf.mul(rm, 1 - momentum), tf.mul(mean, momentum));
          const newVar = tf.add(tf.mul(rv, 1 - momentum), tf.mul(variance, (momentum * n) / (n - 1)));
          const infer = tf.relu(tf.add(tf.mul(tf.div(tf.sub(xs, rm), tf.sqrt(tf.add(rv, eps))), g), b));
          return [f(xs, g, b), newMean, newVar, ...grads, infer];
        };
        const fused = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor, rm: tf.Tensor, rv: tf.Tensor) => {
          let running: tf.Tensor[] = [];
          const op = tf.customGrad((a, c, d, save) => {
            const [y, mean, rstd, m1, v1] = tf
              .engine()
              .runKernel(
                "LmlBatchNormReluTrain",
                { x: a as tf.Tensor, gamma: c as tf.Tensor, beta: d as tf.Tensor, runningMean: rm, runningVar: rv },
                { eps, momentum },
              ) as tf.Tensor[];
            running = [tf.keep(m1), tf.keep(v1)];
            (save as tf.GradSaveFunc)([a as tf.Tensor, y, mean, rstd, c as tf.Tensor]);
            return {
              value: y,
              gradFunc: (dy: tf.Tensor, [sa, sy, sm, sr, sc]: tf.Tensor[]) =>
                tf.engine().runKernel("LmlBatchNormReluGrad", { dy, x: sa, y: sy, mean: sm, rstd: sr, gamma: sc }, {}) as tf.Tensor[],
            };
          });
          const w = tf.tensor(input(shape, 65).data, shape);
          const y = op(xs, g, b) as tf.Tensor;
          const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(op(a, c, d) as tf.Tensor, w)))([xs, g, b]);
          const infer = tf
            .engine()
            .runKernel("LmlBatchNormReluInfer", { x: xs, gamma: g, beta: b, mean: rm, variance: rv }, { eps }) as tf.Tensor;
          return [y, ...running, ...grads, infer];
        };
        const ref = on("cpu", ins, reference);
        const got = on("native", ins, fused);
        ref.forEach((r, i) => expect(relErr(got[i], r), `output ${i}`).toBeLessThan(TOLERANCE));
      });
    }
  });
});

describe.skipIf(!nativeAvailable)("threads", () => {
  it("two threads give the one-thread results (within float rounding) on every kernel family", () => {
    const xs = [input([4, 16, 16, 32], 70), input([3, 3, 32, 32], 71)];
    const f = (x: tf.Tensor, w: tf.Tensor) => {
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same");
      const p = tf.avgPool(tf.relu(y) as tf.Tensor4D, 2, 2, "valid");
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"))))([
        x,
        w,
      ]);
      return [y, p, tf.sum(y, [0, 1, 2]), tf.add(y, tf.ones([32])), ...g];
    };
    native().addon.setThreads(1);
    const one = on("native", xs, f);
    native().addon.setThreads(2);
    try {
      const [x, w] = xs.map((i) => tf.tensor(i.data, i.shape));
      const calls = addonCalls(() => void f(x, w));
      expect(calls.conv2d).toBeGreaterThan(0);
      const two = on("native", xs, f);
      one.forEach((r, i) => expect(relErr(two[i], r), `output ${i}`).toBeLessThan(TOLERANCE));
    } finally {
      native().addon.setThreads(1);
    }
  });
});

describe("LML_THREADS", () => {
  it("defaults to one thread and accepts a positive integer", () => {
    expect(threadsFromEnv({})).toBe(1);
    expect(threadsFromEnv({ LML_THREADS: " 2 " })).toBe(2);
  });
  it("refuses anything else with an error naming the variable and the value", () => {
    for (const bad of ["0", "-1", "1.5", "two"]) {
      expect(() => threadsFromEnv({ LML_THREADS: bad })).toThrow(`LML_THREADS: expected a positive integer, got "${bad}"`);
    }
  });
});
