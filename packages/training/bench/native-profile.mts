// Where a training step (or an inference pass) of the standard model spends its CPU on the native backend:
// the addon's own per-kernel accounting of thread CPU time (CLOCK_THREAD_CPUTIME_ID, so other processes on
// a shared machine do not inflate it), the JS main thread's CPU time and the whole process's.
//   main thread − in addon = JS on the main thread (tfjs bookkeeping, the tape, JS kernels, GC pauses);
//   process − main thread  = other threads (V8's GC helpers; OpenMP workers with LML_THREADS > 1).
//
//   npx tsx bench/native-profile.mts [steps] [--infer] [--top 30]
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "@lml/tfjs-backend-native";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/select.ts";
import { createHourglass } from "../src/model.ts";
import { AdamW } from "../src/optim.ts";

const { values: args, positionals } = parseArgs({
  options: { infer: { type: "boolean", default: false }, top: { type: "string", default: "30" } },
  allowPositionals: true,
});
await initBackend("native", () => {});
const addon = (tf.backend() as unknown as { addon: NativeAddon }).addon;
const B = 16;
const steps = Number(positionals[0] ?? 10);
const m = createHourglass(
  { inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 },
  1,
);
const x = tf.randomUniform([B, 64, 64, 1]) as tf.Tensor4D;
const target = tf.randomUniform([B, 16, 16, 490]) as tf.Tensor4D;
const opt = new AdamW(m.trainableVariables, 0.9, 0.999);
// The same step and inference pass as `lml bench train` (src/bench.ts).
const loss = () => tf.addN(m.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar;
const trainStep = () => {
  const { value, grads } = tf.variableGrads(loss, m.trainableVariables);
  value.dataSync();
  value.dispose();
  opt.apply(grads, 1e-3, 0);
  tf.dispose(grads);
};
const inferStep = () => tf.tidy(() => void m.forward(x, false).heatmaps[1].dataSync());
const run = args.infer ? inferStep : trainStep;
run();
run();

addon.profile(true);
const c0 = process.cpuUsage();
const t0 = addon.threadCpuMs();
for (let i = 0; i < steps; i++) run();
const cu = process.cpuUsage(c0);
const mainMs = (addon.threadCpuMs() - t0) / steps;
const stats = addon.profile(false);
const total = (cu.user + cu.system) / 1e3 / steps;
const inAddon = Object.values(stats).reduce((s, a) => s + a.ms, 0) / steps;
console.log(
  `${args.infer ? "inference pass" : "training step"} of ${B} images, CPU ms: process ${total.toFixed(1)}, main thread ${mainMs.toFixed(1)} ` +
    `(in the addon ${inAddon.toFixed(1)}, JS ${(mainMs - inAddon).toFixed(1)}), other threads ${(total - mainMs).toFixed(1)}`,
);
console.log(" ms/step calls  kernel");
for (const [k, s] of Object.entries(stats)
  .sort((p, q) => q[1].ms - p[1].ms)
  .slice(0, Number(args.top))) {
  console.log(`${(s.ms / steps).toFixed(2).padStart(8)} ${String(s.calls / steps).padStart(5)}  ${k}`);
}
