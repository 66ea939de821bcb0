/** Transpose (a oneDNN reorder) and Concat (row copies) for float32 tensors. */
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
