/**
 * Shared test set-up: the native backend when its addon loads (tests are skipped otherwise, except in
 * CI, where .ci/run installs oneDNN and a missing addon is a failure), and a comparison of any tfjs
 * function's outputs on `native` against the cpu backend.
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { nativeAvailability, registerNativeBackend } from "../src/index.js";

const availability = nativeAvailability();
export const nativeAvailable = availability.available;
if (!availability.available && process.env.CI) {
  throw new Error(`CI must build the native addon: ${availability.reason}`);
}
if (nativeAvailable) registerNativeBackend({ threads: 1 });

/** Deterministic values in [-1, 1), so that both backends see identical inputs. */
export function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

export interface Input {
  shape: number[];
  data: Float32Array;
}

export const input = (shape: number[], seed: number): Input => ({
  shape,
  data: values(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});

/** Runs `fn` on `backend` over fresh tensors built from `inputs`; returns every output as an array. */
export function on(backend: string, inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const out = fn(...inputs.map((i) => tf.tensor(i.data, i.shape)));
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

/** max|a − b| / max|b|: 0 for identical arrays. */
export function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return diff / Math.max(scale, 1e-12);
}

/** The largest relative error of `fn`'s outputs on native against cpu. */
export function compare(inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): number {
  const ref = on("cpu", inputs, fn);
  const got = on("native", inputs, fn);
  expect(got.length).toBe(ref.length);
  return Math.max(...ref.map((r, i) => relErr(got[i], r)));
}

/** Addon calls by function name while `fn` runs on native: proof that a kernel ran in C++, not on a fallback. */
export function addonCalls(fn: () => void): Record<string, number> {
  const addon = (tf.findBackend("native") as unknown as { addon: Record<string, (...a: unknown[]) => unknown> }).addon;
  const calls: Record<string, number> = {};
  const originals = { ...addon };
  for (const [name, f] of Object.entries(originals)) {
    addon[name] = (...a: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return f(...a);
    };
  }
  try {
    tf.setBackend("native");
    tf.tidy(fn);
  } finally {
    Object.assign(addon, originals);
  }
  return calls;
}

export const TOLERANCE = 1e-4;
