/** MaxPool, AvgPool and their gradients (NHWC, any window/stride/padding, no dilation). */
import { backend_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

const MAX = 0;
const AVG = 1;

function poolShape(kind: number, xShape: number[], attrs: PoolAttrs): { info: backend_util.Conv2DInfo; args: number[] } | null {
  if (xShape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, left, bottom, right } = info.padInfo;
  // oneDNN's output size is floor((in + pads − window) / stride) + 1; skip shapes where tfjs rounds otherwise.
  if (Math.floor((info.inHeight + top + bottom - info.filterHeight) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth + left + right - info.filterWidth) / info.strideWidth) + 1 !== info.outWidth) return null;
  if (sizeOf(info.outShape) === 0 || sizeOf(xShape) === 0) return null;
  const args = [
    kind,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    top,
    left,
    bottom,
    right,
  ];
  return { info, args };
}

function pool(kind: number, name: string) {
  return nativeKernel<{ x: TensorInfo }, PoolAttrs>(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if (!allFloat32(x)) return null;
    const p = poolShape(kind, x.shape, attrs);
    if (!p) return null;
    const y = backend.alloc(sizeOf(p.info.outShape));
    backend.addon.pool(backend.f32(x), y, ...p.args);
    return backend.output(p.info.outShape, y);
  });
}

export const maxPool = pool(MAX, "MaxPool");
export const avgPool = pool(AVG, "AvgPool");

export const maxPoolGrad = nativeKernel<{ dy: TensorInfo; input: TensorInfo; output: TensorInfo }, PoolAttrs>(
  "MaxPoolGrad",
  ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs;
    if (!allFloat32(dy, input)) return null;
    const p = poolShape(MAX, input.shape, attrs);
    if (!p) return null;
    const dx = backend.alloc(sizeOf(input.shape));
    backend.addon.poolGrad(backend.f32(dy), backend.f32(input), dx, ...p.args);
    return backend.output(input.shape, dx);
  },
);

export const avgPoolGrad = nativeKernel<{ dy: TensorInfo; input: TensorInfo }, PoolAttrs>("AvgPoolGrad", ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs;
  if (!allFloat32(dy)) return null;
  const p = poolShape(AVG, input.shape, attrs);
  if (!p) return null;
  const dx = backend.alloc(sizeOf(input.shape));
  backend.addon.poolGrad(backend.f32(dy), null, dx, ...p.args);
  return backend.output(input.shape, dx);
});
