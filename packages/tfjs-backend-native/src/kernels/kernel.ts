/**
 * How a native kernel is declared: a function that returns its outputs, or null when the call is
 * outside what the addon does (another dtype, an unusual layout or broadcast), in which case the cpu
 * backend's kernel of the same name runs on the same data (this backend is a MathBackendCPU).
 */
import { getKernel, type KernelConfig, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeBackend } from "../backend.js";

export const BACKEND_NAME = "native";

export interface NativeArgs<I = NamedTensorInfoMap, A = NamedAttrMap> {
  inputs: I;
  attrs: A;
  backend: NativeBackend;
}

export function nativeKernel<I = NamedTensorInfoMap, A = NamedAttrMap>(
  kernelName: string,
  impl: (args: NativeArgs<I, A>) => TensorInfo | TensorInfo[] | null,
): KernelConfig {
  return {
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: (args) => {
      const out = impl(args as unknown as NativeArgs<I, A>);
      if (out !== null) return out;
      const cpu = getKernel(kernelName, "cpu");
      if (!cpu) throw new Error(`native backend: ${kernelName} is not supported for these inputs and the cpu backend has no such kernel`);
      return cpu.kernelFunc(args);
    },
  };
}
