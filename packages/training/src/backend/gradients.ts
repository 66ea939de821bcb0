/**
 * Registers tfjs-core's gradient functions.
 *
 * Why this exists: in Node, `@tensorflow/tfjs-core` resolves to its CommonJS bundle (dist/tf-core.node.js),
 * which contains no gradients; the union package `@tensorflow/tfjs` normally adds them, but we depend on
 * core + backends only. The ES-module file that registers them (dist/register_all_gradients.js) cannot be
 * imported by Node directly (extension-less relative imports), so we bundle it once at start-up with
 * esbuild (already present: tsx and vitest run on it) and evaluate the bundle as CommonJS. The bundle's
 * copy of the ops talks to the one global tfjs engine (tfjs keeps its engine and registries on
 * globalThis precisely so that several copies cooperate), so the gradients it registers are ordinary
 * entries in the global gradient registry.
 */
import * as tf from "@tensorflow/tfjs-core";
import { getGradient } from "@tensorflow/tfjs-core";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";

let done = false;

export function registerAllGradients(): void {
  if (done || getGradient("AddN")) {
    done = true;
    return;
  }
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  const esbuild = require("esbuild") as typeof import("esbuild");
  const bundle = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    format: "cjs",
    platform: "node",
    write: false,
    logLevel: "error",
  });
  const filename = entry.replace(/\.js$/, ".bundled.cjs");
  const mod = new Module(filename) as Module & { _compile(code: string, filename: string): void; paths: string[] };
  mod.filename = filename;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(filename));
  mod._compile(bundle.outputFiles[0].text, filename);
  if (!getGradient("AddN")) throw new Error("registering tfjs gradients failed");
  registerReductionGradients();
  done = true;
}

/**
 * Sum and Mean gradients that broadcast dy with a backend-side fill instead of tfjs's `ones(x.shape)`,
 * which builds the ones on the host and uploads them (≈20 ms a step for the two 16×16×16×490 heatmap
 * losses on wasm). Same values: dx = reshape(dy, keep-dims shape) · 1 (Sum) or · 1/reduceSize (Mean).
 */
function registerReductionGradients(): void {
  const keepDimsShape = (shape: number[], axis: number | number[]) => {
    const out = shape.slice();
    const axes = tf.util.parseAxisParam(axis, shape);
    for (const a of axes) out[a] = 1;
    return { out, reduceSize: axes.reduce((n, a) => n * shape[a], 1) };
  };
  for (const kind of ["Sum", "Mean"] as const) {
    tf.registerGradient({
      kernelName: kind,
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { out, reduceSize } = keepDimsShape(x.shape, (attrs as { axis: number | number[] }).axis);
        const scale = kind === "Mean" ? 1 / reduceSize : 1;
        return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, out), tf.fill(x.shape, scale, "float32")) };
      },
    });
  }
}
