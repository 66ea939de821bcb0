/** BatchMatMul and _FusedMatMul (bias over the last axis, ReLU) on oneDNN's matmul. */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

function run(
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | null,
  relu: boolean,
  attrs: MatMulAttrs,
  backend: import("../backend.js").NativeBackend,
): TensorInfo | null {
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = attrs.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) return null; // the cpu kernel throws tfjs's own error message
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = sizeOf(batchShapeA);
  const batchB = sizeOf(batchShapeB);
  // Same batch dimensions, or one side without batch (size 1): anything else goes to the cpu kernel.
  let batchShape: number[];
  if (batchA === batchB && batchShapeA.join() === batchShapeB.join()) batchShape = batchShapeA;
  else if (batchB === 1) batchShape = batchShapeA;
  else if (batchA === 1) batchShape = batchShapeB;
  else return null;
  if (M * N * K === 0 || batchA * batchB === 0) return null;
  const outShape = [...batchShape, M, N];
  const c = backend.alloc(sizeOf(outShape));
  backend.addon.matmul(
    backend.f32(a),
    backend.f32(b),
    c,
    bias ? backend.f32(bias) : null,
    relu,
    batchA,
    batchB,
    M,
    K,
    N,
    attrs.transposeA,
    attrs.transposeB,
  );
  return backend.output(outShape, c);
}

export const batchMatMul = nativeKernel<{ a: TensorInfo; b: TensorInfo }, MatMulAttrs>("BatchMatMul", ({ inputs, attrs, backend }) => {
  const { a, b } = inputs;
  if (!allFloat32(a, b)) return null;
  return run(a, b, null, false, attrs, backend);
});

export const fusedMatMul = nativeKernel<
  { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  MatMulAttrs & { activation: string }
>("_FusedMatMul", ({ inputs, attrs, backend }) => {
  const { a, b, bias, preluActivationWeights } = inputs;
  if (!allFloat32(a, b, bias) || preluActivationWeights) return null;
  if (attrs.activation !== "linear" && attrs.activation !== "relu") return null;
  const N = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== N)) return null;
  return run(a, b, bias ?? null, attrs.activation === "relu", attrs, backend);
});
