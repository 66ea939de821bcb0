/**
 * Conv2D, FusedConv2D (bias and ReLU fused into the oneDNN primitive), Conv2DBackpropInput and
 * Conv2DBackpropFilter: one addon call each, NHWC data in place, any stride, padding ('same', 'valid',
 * explicit) and dilation tfjs computes a Conv2DInfo for.
 */
import { backend_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

type Pad = "valid" | "same" | number | backend_util.ExplicitPadding;
interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}
type Shape4 = [number, number, number, number];

/**
 * The addon's shape arguments, or null when oneDNN's output-size rule (floor division) would disagree
 * with tfjs's (only with dimRoundingMode 'ceil'/'round' and explicit padding) or the layout is NCHW.
 */
export function convShape(info: backend_util.Conv2DInfo): number[] | null {
  if (info.dataFormat !== "channelsLast") return null;
  const { top, left, bottom, right } = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const oh = Math.floor((info.inHeight + top + bottom - effH) / info.strideHeight) + 1;
  const ow = Math.floor((info.inWidth + left + right - effW) / info.strideWidth) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth) return null;
  if (sizeOf([info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels, info.outHeight, info.outWidth]) === 0)
    return null;
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
  ];
}

function info(xShape: number[], filterShape: number[], attrs: ConvAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat ?? "NHWC"),
  );
}

export const conv2D = nativeKernel<{ x: TensorInfo; filter: TensorInfo }, ConvAttrs>("Conv2D", ({ inputs, attrs, backend }) => {
  const { x, filter } = inputs;
  if (!allFloat32(x, filter)) return null;
  const ci = info(x.shape, filter.shape, attrs);
  const shape = convShape(ci);
  if (!shape) return null;
  const y = backend.alloc(sizeOf(ci.outShape));
  backend.addon.conv2d(backend.f32(x), backend.f32(filter), null, y, false, ...shape);
  return backend.output(ci.outShape, y);
});

interface FusedConvAttrs extends ConvAttrs {
  activation: string;
  leakyreluAlpha?: number;
}

export const fusedConv2D = nativeKernel<
  { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  FusedConvAttrs
>("FusedConv2D", ({ inputs, attrs, backend }) => {
  const { x, filter, bias, preluActivationWeights } = inputs;
  if (!allFloat32(x, filter, bias) || preluActivationWeights) return null;
  if (attrs.activation !== "linear" && attrs.activation !== "relu") return null;
  const ci = info(x.shape, filter.shape, attrs);
  const shape = convShape(ci);
  if (!shape) return null;
  if (bias && sizeOf(bias.shape) !== ci.outChannels) return null; // a scalar or odd bias: the cpu kernel broadcasts it
  const y = backend.alloc(sizeOf(ci.outShape));
  backend.addon.conv2d(backend.f32(x), backend.f32(filter), bias ? backend.f32(bias) : null, y, attrs.activation === "relu", ...shape);
  return backend.output(ci.outShape, y);
});

export const conv2DBackpropInput = nativeKernel<{ dy: TensorInfo; filter: TensorInfo }, ConvAttrs & { inputShape: number[] }>(
  "Conv2DBackpropInput",
  ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs;
    if (!allFloat32(dy, filter)) return null;
    const ci = info(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
    const shape = convShape(ci);
    if (!shape) return null;
    const dx = backend.alloc(sizeOf(attrs.inputShape));
    backend.addon.conv2dBackpropInput(backend.f32(dy), backend.f32(filter), dx, ...shape);
    return backend.output(attrs.inputShape, dx);
  },
);

export const conv2DBackpropFilter = nativeKernel<{ x: TensorInfo; dy: TensorInfo }, ConvAttrs & { filterShape: number[] }>(
  "Conv2DBackpropFilter",
  ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs;
    if (!allFloat32(x, dy)) return null;
    const ci = info(x.shape, attrs.filterShape, { ...attrs, dilations: 1 });
    const shape = convShape(ci);
    if (!shape) return null;
    const dw = backend.alloc(sizeOf(attrs.filterShape));
    backend.addon.conv2dBackpropFilter(backend.f32(x), backend.f32(dy), dw, null, ...shape);
    return backend.output(attrs.filterShape, dw);
  },
);
