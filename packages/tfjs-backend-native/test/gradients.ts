/**
 * tfjs-core's gradients for the tests (Node's CommonJS build of tfjs-core registers none). The same
 * mechanism as packages/training/src/backend/gradients.ts, which this package cannot import (training
 * depends on this package): bundle tfjs-core's ES-module register_all_gradients.js with esbuild and
 * evaluate it as CommonJS; its gradients land in the one global registry.
 */
import { getGradient } from "@tensorflow/tfjs-core";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";

export function registerAllGradients(): void {
  if (getGradient("AddN")) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  const esbuild = require("esbuild") as typeof import("esbuild");
  const out = esbuild.buildSync({ entryPoints: [entry], bundle: true, format: "cjs", platform: "node", write: false, logLevel: "error" });
  const filename = entry.replace(/\.js$/, ".bundled.cjs");
  const mod = new Module(filename) as Module & { _compile(code: string, filename: string): void; paths: string[] };
  mod.filename = filename;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(filename));
  mod._compile(out.outputFiles[0].text, filename);
}
