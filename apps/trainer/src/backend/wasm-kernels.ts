/**
 * Replacement and missing gradient kernels for @tensorflow/tfjs-backend-wasm 4.22 (Node, one thread).
 *
 * Why each exists (measured in the probe, see docs in the trainer issue):
 *  - Conv2DBackpropFilter: not implemented by the wasm backend at all. We build it as one matrix
 *    product im2col(x)ᵀ · dy on the backend's fast BatchMatMul, with the transposed im2col written by a
 *    JS loop (see im2colT for why).
 *  - Conv2DBackpropInput: the stock kernel is a scalar C loop. For stride 1 the input gradient is a plain
 *    convolution of dy with the spatially flipped, in/out-transposed filter, which runs on the fast
 *    forward Conv2D kernel. Strided cases keep the stock kernel (the stem's strided conv never needs dx
 *    because its input is the image).
 *  - MaxPoolGrad: the stock kernel returns wrong gradients when batch > 1 or channels > 1. Ours is a
 *    direct loop over the heap (max-pool is cheap next to the convolutions, so a JS loop is fine).
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
 * The transposed im2col matrix of x, written by a JS loop straight into the wasm heap: a [K, N] tensor with
 * K = fh·fw·inC (row (tap·inC + c), matching a [fh, fw, inC, outC] filter reshaped to [K, outC]) and
 * N = B·outH·outW. Why transposed and why JS: the wasm backend's matrix product is fast (XNNPACK-like
 * ~20 GFLOP/s) only when neither operand is transposed, and its Transpose kernel is a slow generic loop
 * (~25 ms for a 4096×288 matrix, ten times this loop).
 */
function im2colT(x: TensorInfo, info: backend_util.Conv2DInfo, backend: WasmBackend): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const N = B * oh * ow;
  const out = backend.makeOutput([fh * fw * C, N], "float32");
  // Views are taken after makeOutput: allocation may grow (and so move) the wasm heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  let n = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, n++) {
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh + ky - top;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw + kx - left;
            let row = (ky * fw + kx) * C * N + n;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
              for (let c = 0; c < C; c++, row += N) dst[row] = 0;
            } else {
              const base = ((b * H + iy) * W + ix) * C;
              for (let c = 0; c < C; c++, row += N) dst[row] = src[base + c];
            }
          }
        }
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

/** dW[fh, fw, inC, outC] = im2col(x)ᵀ · dy. */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: BACKEND,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const filterShape = (attrs as { filterShape: Conv4 }).filterShape;
    const info = convInfoOf(x.shape as Conv4, filterShape, attrs ?? {});
    const cols = im2colT(x, info, b);
    const dy2 = call("Reshape", { x: dy }, { shape: [1, info.batchSize * info.outHeight * info.outWidth, info.outChannels] }, b);
    const cols3 = call("Reshape", { x: cols }, { shape: [1, ...cols.shape] }, b);
    const dw = call("BatchMatMul", { a: cols3, b: dy2 }, { transposeA: false, transposeB: false }, b);
    const out = call("Reshape", { x: dw }, { shape: filterShape }, b);
    free(b, cols, cols3, dy2, dw);
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
        pad: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]],
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
 * and bias gradient). The stock kernels first transpose the reduced axes innermost with the slow generic
 * Transpose (~20 ms for a 16×16×16×490 tensor); a row of ones times the [outer, inner] matrix is the same
 * sum on the fast matrix product. Other reductions keep the stock kernels.
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
      const ones = b.makeOutput([1, 1, outer], "float32");
      b.typedArrayFromHeap(ones).fill(kind === "Mean" ? 1 / outer : 1);
      const x3 = call("Reshape", { x }, { shape: [1, outer, inner] }, b);
      const sum = call("BatchMatMul", { a: ones, b: x3 }, { transposeA: false, transposeB: false }, b);
      const shape = keepDims ? [...axes.map(() => 1), ...x.shape.slice(axes.length)] : x.shape.slice(axes.length);
      const out = call("Reshape", { x: sum }, { shape }, b);
      free(b, ones, x3, sum);
      return out;
    },
  };
}

const stock = new Map<string, KernelConfig>();

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
  for (const config of [conv2DBackpropFilterConfig, conv2DBackpropInputConfig, maxPoolGradConfig, ...reductions]) {
    if (getKernel(config.kernelName, BACKEND)) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
}
