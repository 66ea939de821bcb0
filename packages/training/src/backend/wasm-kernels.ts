/**
 * Replacement and missing gradient kernels for @tensorflow/tfjs-backend-wasm 4.22 (Node, one thread).
 * (One file of ~470 lines on purpose: the kernels share the heap helpers below and register together
 * in `registerWasmKernels`; each is a self-contained section.)
 *
 * Why each exists (measurements: packages/training/bench/README.md and the comments below):
 *  - Conv2DBackpropFilter: not implemented by the wasm backend at all. We compute it as one forward
 *    convolution (XNNPACK) over transposed copies of x and dy, or for 1×1 filters as one matrix
 *    product (see below).
 *  - Conv2DBackpropInput: the stock kernel is a scalar C loop. For stride 1 the input gradient is a plain
 *    convolution of dy with the spatially flipped, in/out-transposed filter, which runs on the fast
 *    forward Conv2D kernel. Strided cases keep the stock kernel (the stem's strided conv never needs dx
 *    because its input is the image).
 *  - MaxPoolGrad: the stock kernel returns wrong gradients when batch > 1 or channels > 1. Ours is a
 *    direct loop over the heap (max-pool is cheap next to the convolutions, so a JS loop is fine).
 *  - Sum / Mean over leading axes, Identity, and the two batch-norm kernels: speed only (see each).
 *
 * Every kernel here is tested against the cpu backend's gradient in test/backend-kernels.test.ts.
 * Kernels compose other registered wasm kernels through `getKernel`, and free their intermediates with
 * `backend.disposeData`, the same way the backend's own composite kernels do.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs-core";

// The wasm backend's public class type is not needed beyond these members.
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const BACKEND = "wasm";

function call(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap, backend: WasmBackend): TensorInfo {
  const kernel = getKernel(name, BACKEND);
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend: backend as never }) as TensorInfo;
}

function free(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

type Conv4 = [number, number, number, number];

/**
 * [rows, cols] → [cols, rows] by a JS loop over the wasm heap: the backend's Transpose kernel is a generic
 * per-element index computation, several times slower. Blocked so that both sides stay in cache.
 */
function transpose2d(t: TensorInfo, rows: number, cols: number, backend: WasmBackend): TensorInfo {
  const out = backend.makeOutput([cols, rows], "float32");
  // Views are taken after makeOutput: allocation may grow (and so move) the wasm heap.
  const src = backend.typedArrayFromHeap(t);
  const dst = backend.typedArrayFromHeap(out);
  // 16×16 tiles, writing rows of the output sequentially: 2.2 ns a float against 4.9 for 32×32 tiles
  // writing columns (measured on a 4096×490 heatmap gradient).
  const T = 16;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let c = c0; c < c1; c++) {
        const d0 = c * rows;
        for (let r = r0; r < r1; r++) dst[d0 + r] = src[r * cols + c];
      }
    }
  }
  return out;
}

function convInfoOf(xShape: Conv4, filterShape: Conv4, attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { strides, pad, dimRoundingMode, dataFormat } = attrs as never as {
    strides: number | [number, number];
    pad: "same" | "valid" | number | backend_util.ExplicitPadding;
    dimRoundingMode?: "floor" | "round" | "ceil";
    dataFormat?: "NHWC" | "NCHW";
  };
  if (dataFormat === "NCHW") throw new Error("wasm conv gradients support NHWC only");
  return backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, "channelsLast");
}

/**
 * dW as one forward convolution on the fast XNNPACK kernel, with the roles of the axes swapped:
 *   dW[ky, kx, c, o] = Σ_{b, y, x} x[b, y·s + ky − top, x·s + kx − left, c] · dy[b, y, x, o]
 * is conv2d(X', F') with X' = x as [inC, H, W, B] (input channels become the batch, the batch becomes the
 * channels), F' = dy as [outH, outW, B, outC] (the output positions become the filter taps, dilated by
 * the stride), explicit padding (top, left), and output [inC, fh, fw, outC]. No fh·fw-fold im2col copy:
 * 6.8 ms against 11 ms for im2col + matmul on a 16×16×16×32 3×3 layer. 1×1 filters use the matmul.
 */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: BACKEND,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const filterShape = (attrs as { filterShape: Conv4 }).filterShape;
    const info = convInfoOf(x.shape as Conv4, filterShape, attrs ?? {});
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oh, outWidth: ow, outChannels: O } = info;
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    if (fh === 1 && fw === 1 && sh === 1 && sw === 1) {
      // 1×1: dW = xᵀ · dy is one matrix product (as a convolution it is a poor XNNPACK shape, 1.6–2×
      // slower). The backend packs its right operand as weights on every call (~9 ns a float, against
      // ~4 for our JS transpose of the left one), so the smaller of x and dy goes on the right:
      // dW = xᵀ·dy when inC ≥ outC, else dW = (dyᵀ·x)ᵀ. For the 64 → 490 heatmap head that halves it.
      const N = B * oh * ow;
      const leftT = O > C ? transpose2d(dy, N, O, b) : transpose2d(x, N, C, b);
      const right = call("Reshape", { x: O > C ? x : dy }, { shape: [1, N, O > C ? C : O] }, b);
      const left3 = call("Reshape", { x: leftT }, { shape: [1, ...leftT.shape] }, b);
      const prod = call("BatchMatMul", { a: left3, b: right }, { transposeA: false, transposeB: false }, b);
      free(b, leftT, left3, right);
      if (O > C) {
        const t = transpose2d(prod, O, C, b);
        free(b, prod);
        const out = call("Reshape", { x: t }, { shape: filterShape }, b);
        free(b, t);
        return out;
      }
      const out = call("Reshape", { x: prod }, { shape: filterShape }, b);
      free(b, prod);
      return out;
    }
    // Rows/columns of x beyond the last tap of the last output position do not contribute: crop them.
    const Hc = Math.min(H, (oh - 1) * sh + fh - top);
    const Wc = Math.min(W, (ow - 1) * sw + fw - left);
    const bottom = fh + (oh - 1) * sh - Hc - top;
    const right = fw + (ow - 1) * sw - Wc - left;

    // X'[c, y, x, b] = x[b, y, x, c]: an element transpose (JS: the stock Transpose is several times
    // slower; a tiled 2-D transpose followed by moving runs of B floats measured slower than this loop).
    // F'[y, x, b, o] = dy[b, y, x, o]: rows of outC floats move as blocks.
    const xT = b.makeOutput([C, Hc, Wc, B], "float32");
    const dyT = b.makeOutput([oh, ow, B, O], "float32");
    {
      const src = b.typedArrayFromHeap(x);
      const dst = b.typedArrayFromHeap(xT);
      const plane = Hc * Wc * B;
      for (let n = 0; n < B; n++) {
        for (let y = 0; y < Hc; y++) {
          for (let xx = 0; xx < Wc; xx++) {
            const s0 = ((n * H + y) * W + xx) * C;
            let d = (y * Wc + xx) * B + n;
            for (let c = 0; c < C; c++, d += plane) dst[d] = src[s0 + c];
          }
        }
      }
      const g = b.typedArrayFromHeap(dy);
      const gT = b.typedArrayFromHeap(dyT);
      for (let n = 0; n < B; n++) {
        for (let p = 0; p < oh * ow; p++) {
          const s0 = (n * oh * ow + p) * O;
          gT.set(g.subarray(s0, s0 + O), (p * B + n) * O);
        }
      }
    }
    const res = call(
      "Conv2D",
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        dilations: [sh, sw],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: "NHWC",
        dimRoundingMode: undefined as never,
      },
      b,
    );
    free(b, xT, dyT);
    // [C, fh, fw, O] → [fh, fw, C, O]: blocks of O floats again.
    const out = b.makeOutput(filterShape, "float32");
    const r = b.typedArrayFromHeap(res);
    const o = b.typedArrayFromHeap(out);
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < fh * fw; k++) {
        const s0 = (c * fh * fw + k) * O;
        o.set(r.subarray(s0, s0 + O), (k * C + c) * O);
      }
    }
    free(b, res);
    return out;
  },
};

let stockConv2DBackpropInput: KernelConfig | undefined;

/** Stride 1: dx = conv2d(dy, flip(W)ᵀ) with the complementary padding. Otherwise the stock kernel. */
export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: BACKEND,
  kernelFunc: (args) => {
    const { inputs, attrs, backend } = args;
    const b = backend as unknown as WasmBackend;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const inputShape = (attrs as { inputShape: Conv4 }).inputShape;
    const info = convInfoOf(inputShape, filter.shape as Conv4, attrs ?? {});
    const { filterHeight: fh, filterWidth: fw, padInfo } = info;
    const pads = [fh - 1 - padInfo.top, fh - 1 - padInfo.bottom, fw - 1 - padInfo.left, fw - 1 - padInfo.right];
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || pads.some((p) => p < 0)) {
      if (!stockConv2DBackpropInput) throw new Error("stock Conv2DBackpropInput missing");
      return stockConv2DBackpropInput.kernelFunc(args);
    }
    const flipped = fh > 1 || fw > 1 ? call("Reverse", { x: filter }, { dims: [0, 1] }, b) : null;
    const wT = call("Transpose", { x: flipped ?? filter }, { perm: [0, 1, 3, 2] }, b);
    const dx = call(
      "Conv2D",
      { x: dy, filter: wT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [pads[0], pads[1]],
          [pads[2], pads[3]],
          [0, 0],
        ],
        dataFormat: "NHWC",
        dilations: [1, 1],
        dimRoundingMode: undefined as never,
      },
      b,
    );
    free(b, wT);
    if (flipped) free(b, flipped);
    return dx;
  },
};

/** Max-pool gradient: route each dy to the (first) arg-max of its window, summing overlaps. */
export const maxPoolGradConfig: KernelConfig = {
  kernelName: "MaxPoolGrad",
  backendName: BACKEND,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as never as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: "same" | "valid" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = backend_util.computePool2DInfo(input.shape as Conv4, filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const out = b.makeOutput(input.shape, "float32");
    // Views are taken after makeOutput: allocation may grow (and so move) the wasm heap.
    const x = b.typedArrayFromHeap(input);
    const g = b.typedArrayFromHeap(dy);
    const dx = b.typedArrayFromHeap(out);
    dx.fill(0);
    for (let n = 0; n < B; n++) {
      for (let r = 0; r < oh; r++) {
        const r0 = r * sh - top;
        for (let c = 0; c < ow; c++) {
          const c0 = c * sw - left;
          for (let ch = 0; ch < C; ch++) {
            let best = -Infinity;
            let at = -1;
            for (let i = Math.max(0, r0); i < Math.min(H, r0 + fh); i++) {
              for (let j = Math.max(0, c0); j < Math.min(W, c0 + fw); j++) {
                const k = ((n * H + i) * W + j) * C + ch;
                if (x[k] > best || at < 0) {
                  best = x[k];
                  at = k;
                }
              }
            }
            if (at >= 0) dx[at] += g[((n * oh + r) * ow + c) * C + ch];
          }
        }
      }
    }
    return out;
  },
};

/**
 * Sum / Mean over leading axes (e.g. per-channel sums of an NHWC tensor over N, H, W: every batch-norm
 * and bias gradient). The stock kernels first move the reduced axes innermost with the slow generic
 * Transpose (~20 ms for a 16×16×16×490 tensor), and a ones-row matrix product is no better (the backend
 * packs the big operand as weights on every call); an average pool over the leading axes is 0.2–0.4 ms.
 * Other reductions keep the stock kernels.
 */
function leadingReduction(kind: "Sum" | "Mean"): KernelConfig {
  return {
    kernelName: kind,
    backendName: BACKEND,
    kernelFunc: (args) => {
      const { inputs, attrs, backend } = args;
      const b = backend as unknown as WasmBackend;
      const { x } = inputs as { x: TensorInfo };
      const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
      const rank = x.shape.length;
      const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
      const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
      if (x.dtype !== "float32" || !leading) return stock.get(kind)!.kernelFunc(args);
      const outer = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
      const inner = x.shape.slice(axes.length).reduce((p, q) => p * q, 1);
      if (outer === 0 || inner === 0) return stock.get(kind)!.kernelFunc(args);
      const shape = keepDims ? [...axes.map(() => 1), ...x.shape.slice(axes.length)] : x.shape.slice(axes.length);
      // The mean over the leading axes is an average pool with a [outer, 1] window over x viewed as
      // [1, outer, 1, inner]: XNNPACK's SIMD pooling, 3–15× faster than a JS loop over the heap.
      const x4 = call("Reshape", { x }, { shape: [1, outer, 1, inner] }, b);
      const mean = call(
        "AvgPool",
        { x: x4 },
        { filterSize: [outer, 1], strides: [1, 1], pad: "valid", dimRoundingMode: undefined as never },
        b,
      );
      free(b, x4);
      let out: TensorInfo;
      if (kind === "Mean") {
        out = call("Reshape", { x: mean }, { shape }, b);
      } else {
        out = b.makeOutput(shape, "float32");
        const m = b.typedArrayFromHeap(mean);
        const o = b.typedArrayFromHeap(out);
        for (let c = 0; c < inner; c++) o[c] = m[c] * outer;
      }
      free(b, mean);
      return out;
    },
  };
}

const stock = new Map<string, KernelConfig>();

/**
 * Identity shares the input's buffer (reference-counted, as Reshape does and as the cpu backend's Identity
 * does) instead of copying it. tfjs clones every tensor it saves for the backward pass (customGrad's
 * `save`, and the inputs/outputs of built-in kernels), so the stock copying Identity moved ~26 ms of
 * memory per training step of the standard model. Sharing is safe: kernels never write their inputs, and
 * Variable.assign swaps buffers rather than writing into them.
 */
export const identityConfig: KernelConfig = {
  kernelName: "Identity",
  backendName: BACKEND,
  kernelFunc: (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === "string") return stock.get("Identity")!.kernelFunc(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  },
};

/**
 * Training-mode batch-norm as two kernels (forward and gradient) for NHWC float32 tensors, so that each
 * batch-norm is one tfjs kernel call each way instead of ~17 and ~20: the per-channel arithmetic runs in
 * JS on C-element arrays, the full-size passes on the backend's SIMD kernels (3 forward, 5 backward).
 * Same formulas as ops.ts's op-level batchNorm (used on other backends), which the tests compare with.
 *   forward  inputs x, gamma, beta; attr eps  → y, mean, variance (biased), rstd
 *   gradient inputs dy, x, mean, rstd, gamma  → dx, dGamma, dBeta
 */
function channelMean(x: TensorInfo, b: WasmBackend): Float32Array {
  const inner = x.shape[x.shape.length - 1];
  const outer = x.shape.reduce((p, q) => p * q, 1) / inner;
  const x4 = call("Reshape", { x }, { shape: [1, outer, 1, inner] }, b);
  const m = call("AvgPool", { x: x4 }, { filterSize: [outer, 1], strides: [1, 1], pad: "valid", dimRoundingMode: undefined as never }, b);
  const out = b.typedArrayFromHeap(m).slice();
  free(b, x4, m);
  return out;
}

function vector(values: Float32Array, b: WasmBackend): TensorInfo {
  const t = b.makeOutput([values.length], "float32");
  b.typedArrayFromHeap(t).set(values);
  return t;
}

export const batchNormTrainConfig: KernelConfig = {
  kernelName: "LmlBatchNormTrain",
  backendName: BACKEND,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const eps = (attrs as { eps: number }).eps;
    const C = x.shape[x.shape.length - 1];
    const mean = channelMean(x, b);
    const sq = call("Square", { x }, {}, b);
    const meanSq = channelMean(sq, b);
    free(b, sq);
    const g = b.typedArrayFromHeap(gamma);
    const be = b.typedArrayFromHeap(beta);
    const variance = new Float32Array(C);
    const rstd = new Float32Array(C);
    const scale = new Float32Array(C);
    const shift = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      variance[c] = Math.max(0, meanSq[c] - mean[c] * mean[c]);
      rstd[c] = 1 / Math.sqrt(variance[c] + eps);
      scale[c] = g[c] * rstd[c];
      shift[c] = be[c] - mean[c] * scale[c];
    }
    const scaleT = vector(scale, b);
    const shiftT = vector(shift, b);
    const t = call("Multiply", { a: x, b: scaleT }, {}, b);
    const y = call("Add", { a: t, b: shiftT }, {}, b);
    free(b, t, scaleT, shiftT);
    return [y, vector(mean, b), vector(variance, b), vector(rstd, b)];
  },
};

export const batchNormGradConfig: KernelConfig = {
  kernelName: "LmlBatchNormGrad",
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const { dy, x, mean, rstd, gamma } = inputs as Record<"dy" | "x" | "mean" | "rstd" | "gamma", TensorInfo>;
    const C = x.shape[x.shape.length - 1];
    const n = x.shape.reduce((p, q) => p * q, 1) / C;
    const mdy = channelMean(dy, b);
    const dyx = call("Multiply", { a: dy, b: x }, {}, b);
    const mdyx = channelMean(dyx, b);
    free(b, dyx);
    const mu = b.typedArrayFromHeap(mean);
    const r = b.typedArrayFromHeap(rstd);
    const g = b.typedArrayFromHeap(gamma);
    const dGamma = new Float32Array(C);
    const dBeta = new Float32Array(C);
    const A = new Float32Array(C);
    const B = new Float32Array(C);
    const K = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      // With x̂ = (x − μ)·rstd:  dβ = Σdy,  dγ = Σdy·x̂ = rstd·(Σdy·x − μ·Σdy),
      // dx = γ·rstd·(dy − dβ/n − x̂·dγ/n) = A·dy + B·x + K.
      dBeta[c] = mdy[c] * n;
      dGamma[c] = r[c] * (mdyx[c] * n - mu[c] * dBeta[c]);
      A[c] = g[c] * r[c];
      B[c] = (-A[c] * r[c] * dGamma[c]) / n;
      K[c] = (-A[c] * dBeta[c]) / n - B[c] * mu[c];
    }
    const At = vector(A, b);
    const Bt = vector(B, b);
    const Kt = vector(K, b);
    const t1 = call("Multiply", { a: dy, b: At }, {}, b);
    const t2 = call("Multiply", { a: x, b: Bt }, {}, b);
    const t3 = call("Add", { a: t1, b: t2 }, {}, b);
    const dx = call("Add", { a: t3, b: Kt }, {}, b);
    free(b, At, Bt, Kt, t1, t2, t3);
    return [dx, vector(dGamma, b), vector(dBeta, b)];
  },
};

let registered = false;

/** Register the kernels above on the wasm backend (idempotent). Call before `setBackend("wasm")`. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  stockConv2DBackpropInput = getKernel("Conv2DBackpropInput", BACKEND);
  // Kernels that fall back to the stock ones inherit the stock setup (the cwrap of the C function).
  conv2DBackpropInputConfig.setupFunc = stockConv2DBackpropInput?.setupFunc;
  const reductions = (["Sum", "Mean"] as const).map((kind) => {
    const original = getKernel(kind, BACKEND);
    if (!original) throw new Error(`wasm kernel ${kind} is not registered`);
    stock.set(kind, original);
    return { ...leadingReduction(kind), setupFunc: original.setupFunc };
  });
  const stockIdentity = getKernel("Identity", BACKEND);
  if (stockIdentity) stock.set("Identity", stockIdentity);
  const configs = [
    conv2DBackpropFilterConfig,
    conv2DBackpropInputConfig,
    maxPoolGradConfig,
    ...reductions,
    identityConfig,
    batchNormTrainConfig,
    batchNormGradConfig,
  ];
  for (const config of configs) {
    if (getKernel(config.kernelName, BACKEND)) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
}
