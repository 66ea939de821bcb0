/**
 * Element-wise kernels: binary ops with broadcasting, unary ops (oneDNN eltwise), Step, AddN, Softmax.
 * On the cpu backend these are JS loops, and broadcasting ones compute a multi-index per element.
 */
import { backend_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

// Op codes: native/elementwise.cc's enums.
const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 } as const;
const UNARY = {
  Relu: 0,
  Neg: 1,
  Square: 2,
  Sqrt: 3,
  Rsqrt: 4,
  Exp: 5,
  Log: 6,
  Abs: 7,
  Sigmoid: 8,
  Tanh: 9,
  Reciprocal: 10,
  Elu: 11,
  Relu6: 12,
  LeakyRelu: 13,
} as const;

function padded(shape: number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

export const binaryKernels = Object.entries(BINARY).map(([name, op]) =>
  nativeKernel<{ a: TensorInfo; b: TensorInfo }>(name, ({ inputs, backend }) => {
    const { a, b } = inputs;
    if (!allFloat32(a, b)) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = backend.alloc(sizeOf(outShape));
    const r = outShape.length;
    backend.addon.binary(op, backend.f32(a), backend.f32(b), out, outShape, padded(a.shape, r), padded(b.shape, r));
    return backend.output(outShape, out);
  }),
);

export const unaryKernels = Object.entries(UNARY).map(([name, op]) =>
  nativeKernel<{ x: TensorInfo }, { alpha?: number }>(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if (!allFloat32(x)) return null;
    const y = backend.alloc(sizeOf(x.shape));
    backend.addon.unary(op, backend.f32(x), y, attrs?.alpha ?? 0, 0);
    return backend.output(x.shape, y);
  }),
);

export const step = nativeKernel<{ x: TensorInfo }, { alpha: number }>("Step", ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (!allFloat32(x)) return null;
  const y = backend.alloc(sizeOf(x.shape));
  backend.addon.step(backend.f32(x), y, attrs.alpha);
  return backend.output(x.shape, y);
});

export const addN = nativeKernel<TensorInfo[]>("AddN", ({ inputs, backend }) => {
  const xs = inputs as unknown as TensorInfo[];
  if (!allFloat32(...xs) || xs.length === 0) return null;
  const shape = xs[0].shape;
  if (xs.some((t) => t.shape.join() !== shape.join())) return null;
  const out = backend.alloc(sizeOf(shape));
  backend.addon.addN(
    xs.map((t) => backend.f32(t)),
    out,
  );
  return backend.output(shape, out);
});

export const softmax = nativeKernel<{ logits: TensorInfo }, { dim: number }>("Softmax", ({ inputs, attrs, backend }) => {
  const { logits } = inputs;
  const rank = logits.shape.length;
  if (!allFloat32(logits) || rank === 0 || sizeOf(logits.shape) === 0) return null;
  if (attrs.dim !== -1 && attrs.dim !== rank - 1) return null;
  const n = logits.shape[rank - 1];
  const y = backend.alloc(sizeOf(logits.shape));
  backend.addon.softmax(backend.f32(logits), y, sizeOf(logits.shape) / n, n, false);
  return backend.output(logits.shape, y);
});

/** Fill: a pool buffer filled in JS (TypedArray.fill is a native loop); the cpu kernel allocates afresh. */
export const fill = nativeKernel<Record<string, never>, { shape: number[]; value: number; dtype?: string }>(
  "Fill",
  ({ attrs, backend }) => {
    if ((attrs.dtype ?? "float32") !== "float32" || typeof attrs.value !== "number") return null;
    const out = backend.alloc(sizeOf(attrs.shape));
    out.fill(attrs.value);
    return backend.output(attrs.shape, out);
  },
);
