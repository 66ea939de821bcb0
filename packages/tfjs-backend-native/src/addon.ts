/**
 * Loading the C++ addon (native/*.cc, built by node-gyp into build/Release/lml_native.node at set-up;
 * see scripts/ensure-setup.mjs). Every function checks the length of every buffer against the shape
 * it is given and throws a TypeError naming the argument; shapes follow TensorFlow's conventions
 * (NHWC activations, [KH, KW, in, out] filters).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

type F32 = Float32Array;

export interface NativeAddon {
  setThreads(n: number): void;
  getThreads(): number;
  info(): { onednn: string; isa: string; threads: number; primitives: number };
  /** Start (true, clearing) or stop (false) per-function accounting of thread CPU time; returns the table so far. */
  profile(on?: boolean): Record<string, { calls: number; ms: number }>;
  /** CPU time of the calling thread in ms (CLOCK_THREAD_CPUTIME_ID). */
  threadCpuMs(): number;
  /** glibc malloc keeps freed large blocks for reuse (see native/addon.cc); false if not glibc. */
  keepFreedMemory(): boolean;
  /** Shape tail: B, H, W, C, O, KH, KW, OH, OW, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight. */
  conv2d(x: F32, filter: F32, bias: F32 | null, y: F32, relu: boolean, ...shape: number[]): void;
  conv2dBackpropInput(dy: F32, filter: F32, dx: F32, ...shape: number[]): void;
  conv2dBackpropFilter(x: F32, dy: F32, dw: F32, dbias: F32 | null, ...shape: number[]): void;
  batchNormTrain(
    x: F32,
    gamma: F32,
    beta: F32,
    y: F32,
    mean: F32,
    variance: F32,
    rstd: F32,
    N: number,
    H: number,
    W: number,
    C: number,
    eps: number,
    relu: boolean,
  ): void;
  /** With `y` (the output of a fused ReLU), dy only counts where y > 0. */
  batchNormGrad(
    dy: F32,
    x: F32,
    mean: F32,
    rstd: F32,
    gamma: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    N: number,
    H: number,
    W: number,
    C: number,
    y: F32 | null,
  ): void;
  batchNormInfer(
    x: F32,
    gamma: F32,
    beta: F32,
    mean: F32,
    variance: F32,
    y: F32,
    N: number,
    H: number,
    W: number,
    C: number,
    eps: number,
    relu: boolean,
  ): void;
  /** Shape tail: kind (0 max, 1 average), B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft, padBottom, padRight. */
  pool(x: F32, y: F32, ...shape: number[]): void;
  poolGrad(dy: F32, x: F32 | null, dx: F32, ...shape: number[]): void;
  matmul(
    a: F32,
    b: F32,
    c: F32,
    bias: F32 | null,
    relu: boolean,
    batchA: number,
    batchB: number,
    M: number,
    K: number,
    N: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void;
  unary(op: number, x: F32, y: F32, alpha: number, beta: number): void;
  step(x: F32, y: F32, alpha: number): void;
  binary(op: number, a: F32, b: F32, out: F32, outShape: number[], aShape: number[], bShape: number[]): void;
  addN(inputs: F32[], out: F32): void;
  reduce(op: number, x: F32, out: F32, outer: number, R: number, inner: number): void;
  softmax(x: F32, y: F32, rows: number, n: number, log: boolean): void;
  transpose(x: F32, y: F32, xShape: number[], perm: number[]): void;
  concat(inputs: F32[], out: F32, outer: number, sizes: number[]): void;
  slice(x: F32, y: F32, xShape: number[], begin: number[], size: number[]): void;
  pad(x: F32, y: F32, xShape: number[], before: number[], after: number[], value: number): void;
  /** y[o, j, :] = x[o, indices[j], :] over x as [outer, axisSize, inner]. */
  gather(x: F32, indices: Int32Array, y: F32, outer: number, axisSize: number, inner: number): void;
  adamw(
    params: F32[],
    grads: (F32 | null)[],
    outs: F32[],
    m: F32,
    v: F32,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    c2: number,
    decay: number,
  ): void;
}

/** The package folder, and where node-gyp puts the addon. */
export const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
export const addonPath = join(packageDir, "build", "Release", "lml_native.node");

let cached: { addon: NativeAddon } | { reason: string } | null = null;

/** The addon, or why it cannot load (one line, saying how to enable it). */
export function loadAddon(): { addon: NativeAddon } | { reason: string } {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    cached = {
      reason:
        "the oneDNN addon is not built (no packages/tfjs-backend-native/build/Release/lml_native.node); " +
        "install oneDNN (apt-get install libdnnl-dev) and run npm start or npm test, which build it",
    };
    return cached;
  }
  try {
    cached = { addon: createRequire(import.meta.url)(addonPath) as NativeAddon };
  } catch (err) {
    cached = {
      reason: `the oneDNN addon does not load (${(err as Error).message.split("\n")[0]}); is libdnnl2 installed? (apt-get install libdnnl-dev)`,
    };
  }
  return cached;
}
