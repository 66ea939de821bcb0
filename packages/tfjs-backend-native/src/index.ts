/**
 * @lml/tfjs-backend-native: a TensorFlow.js backend named `native` whose heavy kernels run oneDNN
 * (Debian's libdnnl, the library PyTorch's CPU convolutions use) through a C++ N-API addon.
 *
 *   import { registerNativeBackend } from "@lml/tfjs-backend-native";
 *   registerNativeBackend();            // throws NativeUnavailable (with the reason) if the addon is absent
 *   await tf.setBackend("native");
 *
 * Every cpu-backend kernel is registered for `native` too (the backend stores data as the cpu backend
 * does), and the kernels in ./kernels replace the ones where a training step spends its time.
 * Threads: one by default (one worker per core); `threads` or LML_THREADS for more.
 */
import "@tensorflow/tfjs-backend-cpu"; // registers the cpu kernels this backend inherits
import {
  getKernel,
  getKernelsForBackend,
  registerBackend,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from "@tensorflow/tfjs-core";
import { loadAddon, type NativeAddon } from "./addon.js";
import { NativeBackend } from "./backend.js";
import { adamw } from "./kernels/adamw.js";
import { batchNormGrad, batchNormReluGrad, batchNormReluInfer, batchNormReluTrain, batchNormTrain } from "./kernels/batchnorm.js";
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, fusedConv2D } from "./kernels/conv.js";
import { addN, binaryKernels, fill, softmax, step, unaryKernels } from "./kernels/elementwise.js";
import { BACKEND_NAME } from "./kernels/kernel.js";
import { concat, gatherV2, padV2, slice, transpose } from "./kernels/layout.js";
import { batchMatMul, fusedMatMul } from "./kernels/matmul.js";
import { avgPool, avgPoolGrad, maxPool, maxPoolGrad } from "./kernels/pooling.js";
import { reduceKernels } from "./kernels/reduce.js";

export { BACKEND_NAME, NativeBackend, type NativeAddon };
export type { AdamWAttrs } from "./kernels/adamw.js";

/** The kernels the addon runs (each falls back to the cpu kernel for inputs outside its scope). */
export const nativeKernels: KernelConfig[] = [
  conv2D,
  fusedConv2D,
  conv2DBackpropInput,
  conv2DBackpropFilter,
  batchNormTrain,
  batchNormGrad,
  batchNormReluTrain,
  batchNormReluGrad,
  batchNormReluInfer,
  maxPool,
  avgPool,
  maxPoolGrad,
  avgPoolGrad,
  batchMatMul,
  fusedMatMul,
  ...binaryKernels,
  ...unaryKernels,
  step,
  fill,
  addN,
  softmax,
  ...reduceKernels,
  transpose,
  concat,
  slice,
  padV2,
  gatherV2,
  adamw,
];

export class NativeUnavailable extends Error {}

/** LML_THREADS, validated (a positive integer), or 1. */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LML_THREADS?.trim();
  if (!raw) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw Object.assign(new Error(`LML_THREADS: expected a positive integer, got "${env.LML_THREADS}"`), { exitCode: 2 });
  }
  return n;
}

/** Whether the addon loads here, and if not, why (one line that says how to enable it). */
export function nativeAvailability(): { available: true } | { available: false; reason: string } {
  const loaded = loadAddon();
  return "addon" in loaded ? { available: true } : { available: false, reason: loaded.reason };
}

let registered: NativeAddon | null = null;

/**
 * Registers the `native` backend and its kernels (idempotent) and sets the thread count. Returns the
 * addon's description (oneDNN version, instruction set, threads). Throws NativeUnavailable when the
 * addon cannot load. Call before tf.setBackend("native").
 */
export function registerNativeBackend(options: { threads?: number } = {}): ReturnType<NativeAddon["info"]> {
  const loaded = loadAddon();
  if (!("addon" in loaded)) throw new NativeUnavailable(loaded.reason);
  const { addon } = loaded;
  addon.setThreads(options.threads ?? threadsFromEnv());
  if (registered) return addon.info();
  registered = addon;
  // Page faults are this backend's largest avoidable cost on the project's VMs (native/addon.cc).
  addon.keepFreedMemory();
  registerBackend(BACKEND_NAME, () => new NativeBackend(addon), 3);
  for (const cpu of getKernelsForBackend("cpu")) {
    if (!getKernel(cpu.kernelName, BACKEND_NAME)) registerKernel({ ...cpu, backendName: BACKEND_NAME });
  }
  for (const kernel of nativeKernels) {
    if (getKernel(kernel.kernelName, BACKEND_NAME)) unregisterKernel(kernel.kernelName, BACKEND_NAME);
    registerKernel(kernel);
  }
  return addon.info();
}
