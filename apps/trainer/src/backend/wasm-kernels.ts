/**
 * Replacement and missing gradient kernels for @tensorflow/tfjs-backend-wasm 4.22 (Node, one thread).
 *
 * Why each exists (measured in the probe, see docs in the trainer issue):
 *  - Conv2DBackpropFilter: not implemented by the wasm backend at all. We build it from kernels the
 *    backend does fast (XNNPACK): an im2col of the input (pads + strided slices + one concat) and one
 *    matrix product with the output gradient. A 1×1 stride-1 filter needs no im2col.
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
 * The columns of the im2col matrix, as a [B·outH·outW, fh·fw·inC] tensor whose column order matches a
 * [fh, fw, inC, outC] filter reshaped to [fh·fw·inC, outC].
 */
function im2col(x: TensorInfo, info: backend_util.Conv2DInfo, backend: WasmBackend): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && oh === H && ow === W) {
    return call("Reshape", { x }, { shape: [B * oh * ow, C] }, backend);
  }
  // Pad so that every tap of every output position lies inside the padded input.
  const needH = (oh - 1) * sh + fh;
  const needW = (ow - 1) * sw + fw;
  const bottom = Math.max(0, needH - H - top);
  const right = Math.max(0, needW - W - left);
  const padded =
    top || bottom || left || right
      ? call("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 }, backend)
      : null;
  const src = padded ?? x;
  const taps: TensorInfo[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      taps.push(
        sh === 1 && sw === 1
          ? call("Slice", { x: src }, { begin: [0, i, j, 0], size: [B, oh, ow, C] }, backend)
          : call(
              "StridedSlice",
              { x: src },
              {
                begin: [0, i, j, 0],
                end: [B, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, C],
                strides: [1, sh, sw, 1],
                beginMask: 0,
                endMask: 0,
                ellipsisMask: 0,
                newAxisMask: 0,
                shrinkAxisMask: 0,
              },
              backend,
            ),
      );
    }
  }
  const cols = taps.length === 1 ? taps[0] : call("Concat", taps as never, { axis: 3 }, backend);
  const out = call("Reshape", { x: cols }, { shape: [B * oh * ow, fh * fw * C] }, backend);
  if (taps.length > 1) free(backend, cols);
  free(backend, ...taps);
  if (padded) free(backend, padded);
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
    const cols = im2col(x, info, b);
    const dy2 = call("Reshape", { x: dy }, { shape: [1, info.batchSize * info.outHeight * info.outWidth, info.outChannels] }, b);
    const cols3 = call("Reshape", { x: cols }, { shape: [1, ...cols.shape] }, b);
    const dw = call("BatchMatMul", { a: cols3, b: dy2 }, { transposeA: true, transposeB: false }, b);
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

let registered = false;

/** Register the kernels above on the wasm backend (idempotent). Call before `setBackend("wasm")`. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  stockConv2DBackpropInput = getKernel("Conv2DBackpropInput", BACKEND);
  // Ours falls back to the stock kernel for strides > 1, so it inherits the stock setup (its cwrap).
  conv2DBackpropInputConfig.setupFunc = stockConv2DBackpropInput?.setupFunc;
  for (const config of [conv2DBackpropFilterConfig, conv2DBackpropInputConfig, maxPoolGradConfig]) {
    if (getKernel(config.kernelName, BACKEND)) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
}
