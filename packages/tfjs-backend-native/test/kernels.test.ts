/**
 * Every native kernel against the cpu backend: values and gradients (through tfjs's registered
 * gradients, which call the native backward kernels), batch > 1, channels > 1, strides 1/2/3,
 * 'same'/'valid'; relative error max|native − cpu| / max|cpu| < 1e-4. Each group also checks that the
 * addon was really called (a silent fallback to the cpu kernel would pass the value checks).
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it, vi } from "vitest";
import { registerAllGradients } from "./gradients.js";
import { addonCalls, compare, input, nativeAvailable, on, relErr, TOLERANCE, type Input } from "./helpers.js";

// Hundreds of small comparisons; two shared cores under load need more than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000 });

registerAllGradients();

/** Σ(f(xs) · weights): a scalar whose gradient w.r.t. every input exercises the backward kernels. */
function weighted(f: (...xs: tf.Tensor[]) => tf.Tensor, weightSeed = 99) {
  return (...xs: tf.Tensor[]) => {
    const y = f(...xs);
    const w = tf.tensor(input(y.shape, weightSeed).data, y.shape);
    return tf.sum(tf.mul(y, w));
  };
}

/** Forward outputs and the gradient w.r.t. every input. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor) {
  return (...xs: tf.Tensor[]) => [f(...xs), ...tf.grads(weighted(f))(xs)];
}

describe.skipIf(!nativeAvailable)("native kernels equal the cpu backend's", () => {
  describe("conv2d: values, input gradient, filter gradient", () => {
    const cases: { x: number[]; k: number; cout: number; stride: number; pad: "same" | "valid" }[] = [
      { x: [3, 9, 9, 4], k: 3, cout: 5, stride: 1, pad: "same" },
      { x: [2, 8, 8, 6], k: 1, cout: 7, stride: 1, pad: "same" },
      { x: [3, 9, 10, 3], k: 3, cout: 4, stride: 2, pad: "same" },
      { x: [2, 16, 16, 1], k: 7, cout: 8, stride: 2, pad: "same" }, // the model's stem
      { x: [2, 11, 9, 5], k: 3, cout: 6, stride: 1, pad: "valid" },
      { x: [2, 12, 12, 4], k: 5, cout: 3, stride: 3, pad: "valid" },
      { x: [4, 8, 8, 16], k: 2, cout: 8, stride: 2, pad: "same" },
      { x: [2, 7, 7, 5], k: 1, cout: 6, stride: 2, pad: "valid" },
      { x: [2, 8, 8, 64], k: 1, cout: 49, stride: 1, pad: "same" }, // a heatmap head, small
    ];
    for (const c of cases) {
      it(`x ${c.x.join("×")}, ${c.k}×${c.k} → ${c.cout}, stride ${c.stride}, ${c.pad}`, () => {
        const xs = [input(c.x, 1), input([c.k, c.k, c.x[3], c.cout], 2)];
        const f = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
        expect(compare(xs, valueAndGrads(f))).toBeLessThan(TOLERANCE);
      });
    }
    it("dilation 2 (forward) and explicit padding", () => {
      const xs = [input([2, 10, 10, 3], 3), input([3, 3, 3, 4], 4)];
      expect(compare(xs, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NHWC", 2))).toBeLessThan(TOLERANCE);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [1, 2],
        [2, 0],
        [0, 0],
      ];
      expect(
        compare(
          xs,
          valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, pad)),
        ),
      ).toBeLessThan(TOLERANCE);
    });
    it("runs in the addon", () => {
      const calls = addonCalls(() => {
        const x = tf.tensor(input([2, 6, 6, 3], 1).data, [2, 6, 6, 3]) as tf.Tensor4D;
        const w = tf.tensor(input([3, 3, 3, 4], 2).data, [3, 3, 3, 4]) as tf.Tensor4D;
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")))([x, w]);
      });
      expect(calls.conv2d).toBe(1);
      expect(calls.conv2dBackpropInput).toBe(1);
      expect(calls.conv2dBackpropFilter).toBe(1);
    });
  });

  it("fused conv2d with bias and ReLU (values and gradients)", () => {
    const xs = [input([2, 8, 8, 5], 1), input([3, 3, 5, 6], 2), input([6], 3)];
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: "same", bias: b, activation: "relu" });
    expect(compare(xs, valueAndGrads(f))).toBeLessThan(TOLERANCE);
    const [x, w, b] = xs.map((i) => tf.tensor(i.data, i.shape));
    const calls = addonCalls(() => void f(x, w, b));
    expect(calls.conv2d).toBe(1);
  });

  describe("batch-norm kernels (LmlBatchNormTrain / LmlBatchNormGrad) against the formula on cpu", () => {
    const eps = 1e-5;
    /** Reference: plain tfjs ops, differentiated by tfjs (independent of the closed-form gradient). */
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const axes = x.shape.map((_, i) => i).slice(0, -1);
      const { mean, variance } = tf.moments(x, axes);
      const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
      return { y, mean, variance };
    };
    /** The model's use of the kernels (packages/training model.ts): forward kernel, gradient kernel. */
    const fused = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      let stats: tf.Tensor[] = [];
      const op = tf.customGrad((xIn, gIn, bIn, save) => {
        const [y, m, v, rstd] = tf
          .engine()
          .runKernel("LmlBatchNormTrain", { x: xIn as tf.Tensor, gamma: gIn as tf.Tensor, beta: bIn as tf.Tensor }, { eps }) as tf.Tensor[];
        stats = [tf.keep(m), tf.keep(v)];
        (save as tf.GradSaveFunc)([xIn as tf.Tensor, m, rstd, gIn as tf.Tensor]);
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, [xs, ms, rs, gs]: tf.Tensor[]) =>
            tf.engine().runKernel("LmlBatchNormGrad", { dy, x: xs, mean: ms, rstd: rs, gamma: gs }, {}) as tf.Tensor[],
        };
      });
      const y = op(x, g, b) as tf.Tensor;
      return { y, mean: stats[0], variance: stats[1] };
    };
    for (const shape of [
      [4, 5, 6, 7],
      [2, 16, 16, 32],
      [12, 5],
    ]) {
      it(`x ${shape.join("×")}: y, mean, variance, dx, dγ, dβ`, () => {
        const C = shape[shape.length - 1];
        const xs: Input[] = [input(shape, 1), { shape: [C], data: input([C], 2).data.map((v) => 1 + v / 2) }, input([C], 3)];
        // Shift and scale x so that the statistics are not trivially 0 and 1.
        xs[0].data = xs[0].data.map((v, i) => 3 * v + (i % C) * 0.5);
        const tensors = () => xs.map((i) => tf.tensor(i.data, i.shape)) as [tf.Tensor, tf.Tensor, tf.Tensor];
        const run = (bn: typeof reference) => (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { y, mean, variance } = bn(x, g, b);
          const grads = tf.grads(weighted((a, c, d) => bn(a, c, d).y))([x, g, b]);
          return [y, mean, variance, ...grads];
        };
        const refOut = (() => {
          tf.setBackend("cpu");
          return tf.tidy(() => run(reference)(...tensors()).map((t) => Float32Array.from(t.dataSync())));
        })();
        tf.setBackend("native");
        const got = tf.tidy(() => run(fused)(...tensors()).map((t) => Float32Array.from(t.dataSync())));
        for (let i = 0; i < refOut.length; i++) {
          let diff = 0;
          let scale = 0;
          for (let k = 0; k < refOut[i].length; k++) {
            diff = Math.max(diff, Math.abs(got[i][k] - refOut[i][k]));
            scale = Math.max(scale, Math.abs(refOut[i][k]));
          }
          expect(diff / scale, `output ${i}`).toBeLessThan(TOLERANCE);
        }
      });
    }
  });

  describe("pooling: values and gradients", () => {
    const cases: { x: number[]; k: number; stride: number; pad: "same" | "valid" }[] = [
      { x: [2, 8, 8, 3], k: 2, stride: 2, pad: "valid" }, // the model's down-sampling
      { x: [3, 9, 7, 4], k: 3, stride: 2, pad: "same" },
      { x: [2, 6, 6, 5], k: 3, stride: 1, pad: "same" },
      { x: [2, 7, 7, 2], k: 3, stride: 2, pad: "valid" },
    ];
    for (const c of cases) {
      it(`max and average, x ${c.x.join("×")}, ${c.k}×${c.k}, stride ${c.stride}, ${c.pad}`, () => {
        const xs = [input(c.x, 5)];
        expect(
          compare(
            xs,
            valueAndGrads((x) => tf.maxPool(x as tf.Tensor4D, c.k, c.stride, c.pad)),
          ),
        ).toBeLessThan(TOLERANCE);
        const avg = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, c.k, c.stride, c.pad);
        if (c.pad === "valid") {
          expect(compare(xs, valueAndGrads(avg))).toBeLessThan(TOLERANCE);
          return;
        }
        // With 'same' padding the forward pass averages over the window's cells inside the image, but
        // tfjs-backend-cpu's AvgPoolGrad divides by the full window (1/(k·k)) at the borders too, so
        // its gradient is not the gradient of its own forward pass. The native gradient is (as in
        // TensorFlow): the reference here is the same average written as a window sum divided by a
        // window count (depthwise convolutions with a ones filter), differentiated on cpu.
        const reference = (x: tf.Tensor) => {
          const ones = tf.ones([c.k, c.k, c.x[3], 1]) as tf.Tensor4D;
          const sum = (t: tf.Tensor) => tf.depthwiseConv2d(t as tf.Tensor4D, ones, c.stride, c.pad);
          return tf.div(sum(x), sum(tf.onesLike(x)));
        };
        const ref = on("cpu", xs, valueAndGrads(reference));
        const got = on("native", xs, valueAndGrads(avg));
        ref.forEach((r, i) => expect(relErr(got[i], r), `output ${i}`).toBeLessThan(TOLERANCE));
        const stock = on("cpu", xs, valueAndGrads(avg));
        expect(relErr(stock[1], ref[1]), "tfjs-backend-cpu's AvgPoolGrad still differs here").toBeGreaterThan(0.01);
      });
    }
    it("runs in the addon", () => {
      const calls = addonCalls(() => {
        const x = tf.tensor(input([2, 4, 4, 3], 1).data, [2, 4, 4, 3]) as tf.Tensor4D;
        tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid")))(x);
        tf.grad((a: tf.Tensor) => tf.sum(tf.avgPool(a as tf.Tensor4D, 2, 2, "valid")))(x);
      });
      expect(calls.pool).toBe(2);
      expect(calls.poolGrad).toBe(2);
    });
  });

  describe("matmul: values and gradients", () => {
    const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
      { a: [5, 7], b: [7, 3], ta: false, tb: false },
      { a: [7, 5], b: [7, 3], ta: true, tb: false },
      { a: [5, 7], b: [3, 7], ta: false, tb: true },
      { a: [7, 5], b: [3, 7], ta: true, tb: true },
      { a: [4, 5, 7], b: [4, 7, 3], ta: false, tb: false },
      { a: [4, 5, 7], b: [7, 3], ta: false, tb: false }, // batch broadcast
      { a: [2, 3, 6, 4], b: [2, 3, 4, 5], ta: false, tb: false },
    ];
    for (const c of cases) {
      it(`a ${c.a.join("×")}${c.ta ? "ᵀ" : ""} · b ${c.b.join("×")}${c.tb ? "ᵀ" : ""}`, () => {
        const xs = [input(c.a, 6), input(c.b, 7)];
        // tfjs-core's BatchMatMul gradient does not sum over a broadcast batch: values only there.
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, c.ta, c.tb);
        expect(compare(xs, c.a.length === c.b.length ? valueAndGrads(f) : f)).toBeLessThan(TOLERANCE);
      });
    }
    it("fused matmul with bias and ReLU", () => {
      const xs = [input([6, 5], 1), input([5, 4], 2), input([4], 3)];
      const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
        tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: "relu" });
      expect(compare(xs, valueAndGrads(f))).toBeLessThan(TOLERANCE);
      const calls = addonCalls(() => void tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])));
      expect(calls.matmul).toBe(1);
    });
  });

  describe("element-wise binary ops with broadcasting: values and gradients", () => {
    const shapes: [number[], number[]][] = [
      [
        [2, 3, 4, 5],
        [2, 3, 4, 5],
      ],
      [[2, 3, 4, 5], [5]], // bias add
      [
        [2, 3, 4, 5],
        [2, 3, 4, 1],
      ], // keep-dims reduction broadcast
      [
        [1, 1, 6],
        [3, 4, 1],
      ], // both sides broadcast
      [
        [3, 1, 5],
        [1, 4, 1],
      ],
      [[4, 6], []], // scalar
      [[], [4, 6]],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ["add", tf.add],
      ["sub", tf.sub],
      ["mul", tf.mul],
      ["div", (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))],
      ["maximum", tf.maximum],
      ["minimum", tf.minimum],
      ["squaredDifference", tf.squaredDifference],
    ];
    // tfjs-core's Maximum/Minimum/SquaredDifference gradients do not reduce over broadcast axes (they
    // throw on every backend), so those are checked for values only when shapes differ.
    const broadcastGrad = new Set(["add", "sub", "mul", "div"]);
    for (const [name, op] of ops) {
      it(name, () => {
        for (const [sa, sb] of shapes) {
          const withGrads = broadcastGrad.has(name) || sa.join() === sb.join();
          const err = compare([input(sa, 8), input(sb, 9)], withGrads ? valueAndGrads(op) : op);
          expect(err, `${sa} ${sb}`).toBeLessThan(TOLERANCE);
        }
      });
    }
    it("runs in the addon", () => {
      const calls = addonCalls(() => void tf.add(tf.ones([2, 3]), tf.ones([3])));
      expect(calls.binary).toBe(1);
    });
  });

  describe("unary ops: values and gradients", () => {
    const positive = (x: tf.Tensor) => tf.add(tf.abs(x), 0.1);
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ["relu", tf.relu],
      ["neg", tf.neg],
      ["square", tf.square],
      ["sqrt", (x) => tf.sqrt(positive(x))],
      ["rsqrt", (x) => tf.rsqrt(positive(x))],
      ["exp", tf.exp],
      ["log", (x) => tf.log(positive(x))],
      ["abs", tf.abs],
      ["sigmoid", tf.sigmoid],
      ["tanh", tf.tanh],
      ["reciprocal", (x) => tf.reciprocal(positive(x))],
      ["elu", tf.elu],
      ["relu6", (x) => tf.relu6(tf.mul(x, 8))],
      ["leakyRelu", (x) => tf.leakyRelu(x, 0.3)],
      ["step", (x) => tf.step(x, 0.25)],
    ];
    for (const [name, op] of ops) {
      it(name, () => {
        expect(compare([input([3, 7, 11], 10)], valueAndGrads(op))).toBeLessThan(TOLERANCE);
      });
    }
    it("runs in the addon", () => {
      const calls = addonCalls(() => void tf.exp(tf.ones([5])));
      expect(calls.unary).toBe(1);
    });
  });

  describe("reductions", () => {
    const axesCases: (number | number[] | undefined)[] = [undefined, 0, 1, 2, 3, [0, 1, 2], [1, 2], [2, 3], -1, [0, 2]];
    const ops: [string, (x: tf.Tensor, axis: number | number[] | undefined, keep: boolean) => tf.Tensor][] = [
      ["sum", tf.sum],
      ["mean", tf.mean],
      ["max", tf.max],
      ["min", tf.min],
      ["prod", (x, a, k) => tf.prod(tf.add(tf.mul(x, 0.1), 1), a, k)],
    ];
    for (const [name, op] of ops) {
      it(`${name} over every axis set, keepDims both ways (values and gradients)`, () => {
        for (const axis of axesCases) {
          for (const keep of [false, true]) {
            // tfjs-core's Prod gradient calls a chained op the Node build lacks: values only for prod.
            const f = (x: tf.Tensor) => op(x, axis, keep);
            const err = compare([input([3, 4, 5, 6], 11)], name === "prod" ? f : valueAndGrads(f));
            expect(err, `axis ${JSON.stringify(axis)} keepDims ${keep}`).toBeLessThan(TOLERANCE);
          }
        }
      });
    }
    it("a large sum keeps the cpu backend's precision", () => {
      expect(compare([input([16, 16, 16, 490], 12)], (x) => [tf.sum(x), tf.mean(x, [0, 1, 2]), tf.sum(x, -1)])).toBeLessThan(TOLERANCE);
    });
    it("runs in the addon", () => {
      const calls = addonCalls(() => void tf.sum(tf.ones([4, 5]), 0));
      expect(calls.reduce).toBe(1);
    });
  });

  describe("layout: transpose, concat, slice, pad, gather", () => {
    it("transpose, every permutation of a rank-4 tensor (values and gradients)", () => {
      const perms: number[][] = [];
      const permute = (rest: number[], acc: number[]) => {
        if (!rest.length) perms.push(acc);
        rest.forEach((r, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, r]));
      };
      permute([0, 1, 2, 3], []);
      for (const perm of perms) {
        expect(
          compare(
            [input([2, 3, 4, 5], 13)],
            valueAndGrads((x) => tf.transpose(x, perm)),
          ),
          perm.join(),
        ).toBeLessThan(TOLERANCE);
      }
      // The loss's batched row transpose, at the model's size.
      expect(compare([input([4, 256, 490], 14)], (x) => tf.transpose(x, [0, 2, 1]))).toBeLessThan(TOLERANCE);
    });
    it("concat along every axis (values and gradients)", () => {
      for (let axis = 0; axis < 4; axis++) {
        const a = [2, 3, 4, 5];
        const b = a.map((d, i) => (i === axis ? d + 2 : d));
        expect(
          compare(
            [input(a, 15), input(b, 16), input(a, 17)],
            valueAndGrads((x, y, z) => tf.concat([x, y, z], axis)),
          ),
          `axis ${axis}`,
        ).toBeLessThan(TOLERANCE);
      }
    });
    it("slice (non-contiguous boxes on every axis) and pad, values and gradients", () => {
      const x = [input([3, 4, 5, 6], 23)];
      const boxes: [number[], number[]][] = [
        [
          [0, 0, 0, 2],
          [-1, -1, -1, 3],
        ], // a channel block (DALN's landmark blocks)
        [
          [1, 1, 0, 0],
          [2, 2, 5, 6],
        ],
        [
          [0, 2, 1, 1],
          [3, 1, 3, 4],
        ],
        [
          [2, 3, 4, 5],
          [1, 1, 1, 1],
        ],
      ];
      for (const [begin, size] of boxes) {
        expect(
          compare(
            x,
            valueAndGrads((t) => tf.slice(t, begin, size)),
          ),
          `${begin} ${size}`,
        ).toBeLessThan(TOLERANCE);
      }
      const pads: [number, number][] = [
        [0, 1],
        [2, 0],
        [1, 1],
        [0, 3],
      ];
      expect(
        compare(
          x,
          valueAndGrads((t) => tf.pad(t, pads, 0.5)),
        ),
      ).toBeLessThan(TOLERANCE);
    });
    it("gather along every axis (values and gradients)", () => {
      for (let axis = 0; axis < 3; axis++) {
        const shape = [4, 5, 6];
        const f = (t: tf.Tensor) => tf.gather(t, tf.tensor1d([3, 0, 3, 1], "int32"), axis);
        expect(compare([input(shape, 24)], valueAndGrads(f)), `axis ${axis}`).toBeLessThan(TOLERANCE);
      }
    });
    it("runs in the addon", () => {
      const calls = addonCalls(() => {
        tf.transpose(tf.ones([2, 3]));
        tf.concat([tf.ones([2, 3]), tf.ones([2, 3])], 1);
        tf.slice(tf.ones([2, 3]), [0, 1], [2, 1]);
        tf.pad(tf.ones([2, 3]), [
          [1, 0],
          [0, 1],
        ]);
        tf.gather(tf.ones([2, 3]), tf.tensor1d([1], "int32"));
      });
      expect(calls.transpose).toBe(1);
      expect(calls.concat).toBe(1);
      expect(calls.slice).toBe(1);
      expect(calls.pad).toBe(1);
      expect(calls.gather).toBe(1);
    });
  });

  it("softmax over the last axis (values and gradients)", () => {
    expect(
      compare(
        [input([4, 6, 9], 18)],
        valueAndGrads((x) => tf.softmax(tf.mul(x, 4))),
      ),
    ).toBeLessThan(TOLERANCE);
  });

  it("addN (values and gradients)", () => {
    const xs = [input([3, 4, 5], 19), input([3, 4, 5], 20), input([3, 4, 5], 21)];
    expect(
      compare(
        xs,
        valueAndGrads((a, b, c) => tf.addN([a, b, c])),
      ),
    ).toBeLessThan(TOLERANCE);
  });

  it("inputs outside the kernels' scope fall back to the cpu kernels (int32, non-contiguous axes)", () => {
    tf.setBackend("native");
    expect(Array.from(tf.add(tf.tensor([1, 2], [2], "int32"), tf.tensor([3, 4], [2], "int32")).dataSync())).toEqual([4, 6]);
    expect(compare([input([3, 4, 5], 22)], (x) => tf.sum(x, [0, 2]))).toBeLessThan(TOLERANCE);
  });

  it("the addon refuses a buffer whose length does not match its shape, naming the argument", () => {
    const addon = (tf.findBackend("native") as unknown as { addon: import("../src/addon.js").NativeAddon }).addon;
    expect(() =>
      addon.batchNormTrain(
        new Float32Array(10),
        new Float32Array(2),
        new Float32Array(2),
        new Float32Array(9),
        new Float32Array(2),
        new Float32Array(2),
        new Float32Array(2),
        5,
        1,
        1,
        2,
        1e-5,
        false,
      ),
    ).toThrow(/batchNormTrain: y has 9 elements, expected 10/);
    expect(() => addon.setThreads(0)).toThrow(/threads must be between 1 and 1024/);
  });
});
