/**
 * Batch-norm kernels on oneDNN's batch_normalization primitives, the contracts of packages/training's
 * backend/ops.ts (which uses them when the active backend registers them). Statistics are over every
 * axis but the last (channels).
 *   LmlBatchNormTrain      x, gamma, beta; eps → y, mean, variance (biased), rstd
 *   LmlBatchNormGrad       dy, x, mean, rstd, gamma → dx, dGamma, dBeta
 *   LmlBatchNormReluTrain  x, gamma, beta, runningMean, runningVar; eps, momentum
 *                          → y = relu(batch-norm(x)), mean, rstd, new runningMean, new runningVar
 *                          (running ← (1 − momentum)·running + momentum·batch; variance unbiased, n/(n−1))
 *   LmlBatchNormReluGrad   dy, x, y, mean, rstd, gamma → dx, dGamma, dBeta (through the ReLU: where y > 0)
 *   LmlBatchNormReluInfer  x, gamma, beta, mean, variance; eps → relu(batch-norm with these statistics)
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf, type NativeBackend } from "../backend.js";
import { nativeKernel } from "./kernel.js";

function dims(x: TensorInfo): [number, number, number, number] {
  const C = x.shape[x.shape.length - 1];
  if (x.shape.length === 4) return [x.shape[0], x.shape[1], x.shape[2], C];
  return [sizeOf(x.shape) / C, 1, 1, C];
}

function requireFloat32(kernel: string, ...ts: TensorInfo[]): void {
  if (!allFloat32(...ts)) throw new Error(`${kernel}: float32 inputs only`);
}

function train(backend: NativeBackend, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, eps: number, relu: boolean) {
  const [N, H, W, C] = dims(x);
  const y = backend.alloc(sizeOf(x.shape));
  const mean = new Float32Array(C);
  const variance = new Float32Array(C);
  const rstd = new Float32Array(C);
  backend.addon.batchNormTrain(backend.f32(x), backend.f32(gamma), backend.f32(beta), y, mean, variance, rstd, N, H, W, C, eps, relu);
  return { y, mean, variance, rstd, C };
}

function grad(backend: NativeBackend, inputs: Record<string, TensorInfo>, relu: boolean): TensorInfo[] {
  const { dy, x, mean, rstd, gamma, y } = inputs;
  const [N, H, W, C] = dims(x);
  const dx = backend.alloc(sizeOf(x.shape));
  const dGamma = new Float32Array(C);
  const dBeta = new Float32Array(C);
  const f = (t: TensorInfo) => backend.f32(t);
  backend.addon.batchNormGrad(f(dy), f(x), f(mean), f(rstd), f(gamma), dx, dGamma, dBeta, N, H, W, C, relu ? f(y) : null);
  return [backend.output(x.shape, dx), backend.output([C], dGamma), backend.output([C], dBeta)];
}

export const batchNormTrain = nativeKernel<{ x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }, { eps: number }>(
  "LmlBatchNormTrain",
  ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs;
    requireFloat32("LmlBatchNormTrain", x, gamma, beta);
    const r = train(backend, x, gamma, beta, attrs.eps, false);
    return [backend.output(x.shape, r.y), backend.output([r.C], r.mean), backend.output([r.C], r.variance), backend.output([r.C], r.rstd)];
  },
);

export const batchNormGrad = nativeKernel<Record<"dy" | "x" | "mean" | "rstd" | "gamma", TensorInfo>>(
  "LmlBatchNormGrad",
  ({ inputs, backend }) => {
    requireFloat32("LmlBatchNormGrad", ...Object.values(inputs));
    return grad(backend, inputs, false);
  },
);

export const batchNormReluTrain = nativeKernel<
  Record<"x" | "gamma" | "beta" | "runningMean" | "runningVar", TensorInfo>,
  { eps: number; momentum: number }
>("LmlBatchNormReluTrain", ({ inputs, attrs, backend }) => {
  const { x, gamma, beta, runningMean, runningVar } = inputs;
  requireFloat32("LmlBatchNormReluTrain", x, gamma, beta, runningMean, runningVar);
  const r = train(backend, x, gamma, beta, attrs.eps, true);
  const n = sizeOf(x.shape) / r.C;
  const unbiased = n > 1 ? n / (n - 1) : 1;
  const m0 = backend.f32(runningMean);
  const v0 = backend.f32(runningVar);
  const m1 = new Float32Array(r.C);
  const v1 = new Float32Array(r.C);
  for (let c = 0; c < r.C; c++) {
    m1[c] = m0[c] * (1 - attrs.momentum) + r.mean[c] * attrs.momentum;
    v1[c] = v0[c] * (1 - attrs.momentum) + r.variance[c] * attrs.momentum * unbiased;
  }
  return [
    backend.output(x.shape, r.y),
    backend.output([r.C], r.mean),
    backend.output([r.C], r.rstd),
    backend.output(runningMean.shape, m1),
    backend.output(runningVar.shape, v1),
  ];
});

export const batchNormReluGrad = nativeKernel<Record<"dy" | "x" | "y" | "mean" | "rstd" | "gamma", TensorInfo>>(
  "LmlBatchNormReluGrad",
  ({ inputs, backend }) => {
    requireFloat32("LmlBatchNormReluGrad", ...Object.values(inputs));
    return grad(backend, inputs, true);
  },
);

export const batchNormReluInfer = nativeKernel<Record<"x" | "gamma" | "beta" | "mean" | "variance", TensorInfo>, { eps: number }>(
  "LmlBatchNormReluInfer",
  ({ inputs, attrs, backend }) => {
    const { x, gamma, beta, mean, variance } = inputs;
    requireFloat32("LmlBatchNormReluInfer", x, gamma, beta, mean, variance);
    const [N, H, W, C] = dims(x);
    const y = backend.alloc(sizeOf(x.shape));
    const f = (t: TensorInfo) => backend.f32(t);
    backend.addon.batchNormInfer(f(x), f(gamma), f(beta), f(mean), f(variance), y, N, H, W, C, attrs.eps, true);
    return backend.output(x.shape, y);
  },
);
