/**
 * Transpose (a oneDNN reorder), Concat, Slice, PadV2 and GatherV2 (copies of contiguous runs) for float32
 * tensors. tfjs-backend-cpu computes a multi-index per element for the last three; a contiguous Slice
 * stays with the cpu kernel, which returns a view without copying.
 */
import { backend_util, util, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

export const transpose = nativeKernel<{ x: TensorInfo }, { perm: number[] }>("Transpose", ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (!allFloat32(x) || x.shape.length === 0 || x.shape.length > 6) return null;
  const shape = attrs.perm.map((p) => x.shape[p]);
  const y = backend.alloc(sizeOf(shape));
  backend.addon.transpose(backend.f32(x), y, x.shape, attrs.perm);
  return backend.output(shape, y);
});

export const concat = nativeKernel<TensorInfo[], { axis: number }>("Concat", ({ inputs, attrs, backend }) => {
  const all = inputs as unknown as TensorInfo[];
  if (all.length === 0 || !allFloat32(...all)) return null;
  const axis = util.parseAxisParam(attrs.axis, all[0].shape)[0];
  const outShape = backend_util.computeOutShape(
    all.map((t) => t.shape),
    axis,
  );
  const xs = all.filter((t) => sizeOf(t.shape) > 0);
  if (xs.length === 0 || sizeOf(outShape) === 0) return null;
  const outer = sizeOf(outShape.slice(0, axis));
  const out = backend.alloc(sizeOf(outShape));
  backend.addon.concat(
    xs.map((t) => backend.f32(t)),
    out,
    outer,
    xs.map((t) => sizeOf(t.shape.slice(axis))),
  );
  return backend.output(outShape, out);
});

export const slice = nativeKernel<{ x: TensorInfo }, { begin: number | number[]; size: number | number[] }>(
  "Slice",
  ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if (!allFloat32(x) || x.shape.length === 0) return null;
    const [begin, size] = backend_util.slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
    if (sizeOf(size) === 0 || backend_util.slice_util.isSliceContinous(x.shape, begin, size)) return null;
    const y = backend.alloc(sizeOf(size));
    backend.addon.slice(backend.f32(x), y, x.shape, begin, size);
    return backend.output(size, y);
  },
);

export const padV2 = nativeKernel<{ x: TensorInfo }, { paddings: [number, number][]; constantValue: number }>(
  "PadV2",
  ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if (!allFloat32(x) || x.shape.length === 0) return null;
    const shape = x.shape.map((d, i) => attrs.paddings[i][0] + d + attrs.paddings[i][1]);
    const y = backend.alloc(sizeOf(shape));
    backend.addon.pad(
      backend.f32(x),
      y,
      x.shape,
      attrs.paddings.map((p) => p[0]),
      attrs.paddings.map((p) => p[1]),
      attrs.constantValue,
    );
    return backend.output(shape, y);
  },
);

export const gatherV2 = nativeKernel<{ x: TensorInfo; indices: TensorInfo }, { axis: number; batchDims: number }>(
  "GatherV2",
  ({ inputs, attrs, backend }) => {
    const { x, indices } = inputs;
    if (!allFloat32(x) || indices.dtype !== "int32" || (attrs.batchDims ?? 0) !== 0 || x.shape.length === 0) return null;
    const ix = backend.data.get(indices.dataId).values;
    if (!(ix instanceof Int32Array)) return null;
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const y = backend.alloc(sizeOf(shape));
    backend.addon.gather(backend.f32(x), ix, y, sizeOf(x.shape.slice(0, axis)), x.shape[axis], sizeOf(x.shape.slice(axis + 1)));
    return backend.output(shape, y);
  },
);
