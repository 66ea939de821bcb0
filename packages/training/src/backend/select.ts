/**
 * Backend selection. Tries, in order, the native TensorFlow bindings (GPU, then CPU), our oneDNN backend
 * (@lml/tfjs-backend-native, when its addon was built at set-up), the WebAssembly backend with our
 * replacement kernels, then the pure-JS cpu backend. `LML_BACKEND` (or the
 * `preferred` argument) pins one; a pinned backend that cannot start is an error, not a silent fallback,
 * so that a run never records a backend it did not use.
 *
 * Names returned (and accepted): "tensorflow-gpu" (@tensorflow/tfjs-node-gpu), "tensorflow"
 * (@tensorflow/tfjs-node), "native" (oneDNN), "wasm", "cpu". Aliases: "node-gpu", "tfjs-node-gpu",
 * "node", "tfjs-node", "onednn".
 */
import * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { registerAllGradients } from "./gradients.js";

export type BackendName = "tensorflow-gpu" | "tensorflow" | "native" | "wasm" | "cpu";

const ORDER: BackendName[] = ["tensorflow-gpu", "tensorflow", "native", "wasm", "cpu"];
const ALIASES: Record<string, BackendName> = {
  "tensorflow-gpu": "tensorflow-gpu",
  "node-gpu": "tensorflow-gpu",
  "tfjs-node-gpu": "tensorflow-gpu",
  tensorflow: "tensorflow",
  node: "tensorflow",
  "tfjs-node": "tensorflow",
  native: "native",
  onednn: "native",
  wasm: "wasm",
  cpu: "cpu",
};

let active: BackendName | null = null;

/** The backend `initBackend` chose, or null before it ran. */
export function activeBackend(): BackendName | null {
  return active;
}

// The native packages are optional peer dependencies (they download libtensorflow at install time, which
// needs internet). A variable specifier keeps bundlers and tsc from insisting that they exist.
async function importOptional(name: string): Promise<unknown> {
  const spec = name;
  return import(spec);
}

async function start(name: BackendName): Promise<void> {
  switch (name) {
    case "tensorflow-gpu":
    case "tensorflow": {
      await importOptional(name === "tensorflow-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node");
      if (!(await tf.setBackend("tensorflow"))) throw new Error("the tensorflow backend did not initialise");
      return;
    }
    case "native": {
      const { registerNativeBackend } = await import("@lml/tfjs-backend-native");
      registerNativeBackend(); // throws with the reason (and how to enable it) when the addon is absent
      if (!(await tf.setBackend("native"))) throw new Error("the native backend did not initialise");
      return;
    }
    case "wasm": {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      // In Node the .wasm binaries are read from disk: point the loader at the package's dist folder.
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + "/");
      const { registerWasmKernels } = await import("./wasm-kernels.js");
      registerWasmKernels();
      if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialise");
      return;
    }
    case "cpu": {
      await import("@tensorflow/tfjs-backend-cpu");
      if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not initialise");
      return;
    }
  }
}

/**
 * Start the best available backend (or the one named by `preferred` / `LML_BACKEND`), log it on stderr,
 * and return its name. Safe to call more than once: later calls return the running backend unless a
 * different one is asked for.
 */
export async function initBackend(
  preferred: string | undefined = process.env.LML_BACKEND,
  log: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Promise<BackendName> {
  const wanted = preferred?.trim() ? ALIASES[preferred.trim().toLowerCase()] : undefined;
  if (preferred?.trim() && !wanted) {
    throw Object.assign(
      new Error(`LML_BACKEND: unknown backend "${preferred}" (use one of ${Object.keys(ALIASES).join(", ")})`),
      { exitCode: 2 },
    );
  }
  if (active && (!wanted || wanted === active)) return active;
  registerAllGradients();

  const candidates = wanted ? [wanted] : ORDER;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      await start(name);
      active = name;
      log(`lml: tfjs backend ${name}` + (failures.length ? ` (skipped: ${failures.join("; ")})` : ""));
      return name;
    } catch (err) {
      if ((err as { exitCode?: number }).exitCode === 2) throw err; // bad input (e.g. LML_THREADS), not an absent backend
      failures.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${failures.join("; ")}`);
}
