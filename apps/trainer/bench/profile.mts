// Per-kernel time of one training step of the standard model: `npx tsx bench/profile.mts [backend] [batch]`.
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/select.ts";
import { createHourglass } from "../src/model.ts";
const be = await initBackend(process.argv[2] ?? "wasm");
const B = Number(process.argv[3] ?? 16);
const m = createHourglass({ inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 }, 1);
const x = tf.randomUniform([B, 64, 64, 1]) as tf.Tensor4D;
const target = tf.randomUniform([B, 16, 16, 490]) as tf.Tensor4D;
const opt = tf.train.adam(1e-3);
const step = () => tf.dispose(opt.minimize(() => tf.addN(m.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar, true, m.trainableVariables));
step(); step();
let t0 = performance.now();
for (let i = 0; i < 3; i++) step();
console.log(be, "train img/s", (3 * B * 1000) / (performance.now() - t0));
// Wall-clock kernel times are noisy on a shared machine: keep each kernel's minimum over several profiles.
const agg = new Map<string, { ms: number; n: number }>();
for (let rep = 0; rep < 3; rep++) {
  const info = await tf.profile(() => step());
  const once = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const key = `${k.name} ${k.inputShapes.map((s) => (s ?? []).join("x")).join(",")}`;
    const name = process.argv[4] === "shapes" ? key : k.name;
    const a = once.get(name) ?? { ms: 0, n: 0 };
    a.ms += k.kernelTimeMs as number;
    a.n++;
    once.set(name, a);
  }
  for (const [k, a] of once) if (!agg.has(k) || agg.get(k)!.ms > a.ms) agg.set(k, a);
}
const total = [...agg.values()].reduce((s, a) => s + a.ms, 0);
console.log("total kernel ms", total.toFixed(1));
for (const [k, a] of [...agg].sort((p, q) => q[1].ms - p[1].ms).slice(0, Number(process.argv[5] ?? 25))) console.log(a.ms.toFixed(1).padStart(8), String(a.n).padStart(5), k);
