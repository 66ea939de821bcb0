/**
 * LmlAdamW: one AdamW step over every parameter in one kernel call (the optimiser's moments stay in the
 * caller's Float32Arrays, which the kernel updates in place). Inputs p0…pN−1 (parameters) and g0…gN−1
 * (gradients; a missing g<i> means a zero gradient); attrs m, v (Float32Array, all parameters
 * concatenated in input order), beta1, beta2, eps, and the step scalars computed by the caller:
 * step = lr / (1 − β1ᵗ), c2 = 1 − β2ᵗ, decay = 1 − lr·weightDecay. Outputs the N new parameters.
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

export interface AdamWAttrs {
  count: number;
  m: Float32Array;
  v: Float32Array;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
  c2: number;
  decay: number;
}

export const adamw = nativeKernel<Record<string, TensorInfo>, AdamWAttrs>("LmlAdamW", ({ inputs, attrs, backend }) => {
  const params: TensorInfo[] = [];
  const grads: (TensorInfo | null)[] = [];
  for (let i = 0; i < attrs.count; i++) {
    const p = inputs[`p${i}`];
    if (!p) throw new Error(`LmlAdamW: input p${i} is missing`);
    params.push(p);
    grads.push(inputs[`g${i}`] ?? null);
  }
  if (!allFloat32(...params, ...grads)) throw new Error("LmlAdamW: float32 parameters and gradients only");
  const outs = params.map((p) => backend.alloc(sizeOf(p.shape)));
  backend.addon.adamw(
    params.map((p) => backend.f32(p)),
    grads.map((g) => (g ? backend.f32(g) : null)),
    outs,
    attrs.m,
    attrs.v,
    attrs.beta1,
    attrs.beta2,
    attrs.eps,
    attrs.step,
    attrs.c2,
    attrs.decay,
  );
  return outs.map((o, i) => backend.output(params[i].shape, o));
});
