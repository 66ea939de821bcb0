// Minimum and median CPU time of a training step of the standard model (robust on a shared machine).
// `npx tsx bench/steptime.mts [model-module] [steps]`
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/select.ts";
const { createHourglass } = await import(process.argv[2] ?? "../src/model.ts");
await initBackend("wasm", () => {});
const B = 16,
  steps = Number(process.argv[3] ?? 8);
const m = createHourglass(
  { inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 },
  1,
);
const x = tf.randomUniform([B, 64, 64, 1]) as tf.Tensor4D;
const target = tf.randomUniform([B, 16, 16, 490]) as tf.Tensor4D;
const opt = tf.train.adam(1e-3);
const step = () =>
  tf.dispose(
    opt.minimize(
      () => tf.addN(m.forward(x, true).heatmaps.map((h: tf.Tensor) => tf.losses.meanSquaredError(target, h))) as tf.Scalar,
      true,
      m.trainableVariables,
    ),
  );
step();
step();
const t: number[] = [];
const w: number[] = [];
for (let i = 0; i < steps; i++) {
  const c = process.cpuUsage();
  const t0 = performance.now();
  step();
  w.push(performance.now() - t0);
  const u = process.cpuUsage(c);
  t.push((u.user + u.system) / 1e3);
}
t.sort((a, b) => a - b);
w.sort((a, b) => a - b);
console.log(
  `${process.argv[2] ?? "current"}: min ${t[0].toFixed(0)} ms, median ${t[t.length >> 1].toFixed(0)} ms cpu per step of ${B}; wall min ${w[0].toFixed(0)}, median ${w[w.length >> 1].toFixed(0)} ms`,
);
