// CPU time per kernel (not wall time: the machine is shared) for one training step of the standard model,
// on LML_BACKEND (default wasm). The step is bench.ts's: forward, MSE, backward, the engine's AdamW.
// `[LML_BACKEND=native] npx tsx bench/cpuprofile.mts [batch] [steps]`
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/select.ts";
import { createHourglass } from "../src/model.ts";
import { AdamW } from "../src/optim.ts";
const backend = await initBackend(process.env.LML_BACKEND ?? "wasm", () => {});
const stats = new Map<string, { us: number; n: number }>();
let depth = 0;
for (const k of tf.getKernelsForBackend(backend)) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backend);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const c = process.cpuUsage();
      try {
        return inner(args);
      } finally {
        depth--;
        const u = process.cpuUsage(c);
        const detail =
          process.env.DETAIL === k.kernelName
            ? ` ${JSON.stringify(Object.values(args.inputs).map((t) => (t as tf.TensorInfo).shape))} ${JSON.stringify(args.attrs)}`
            : "";
        const s = stats.get(k.kernelName + detail) ?? { us: 0, n: 0 };
        s.us += u.user + u.system;
        s.n++;
        stats.set(k.kernelName + detail, s);
      }
    },
  });
}
const B = Number(process.argv[2] ?? 16),
  steps = Number(process.argv[3] ?? 3);
const m = createHourglass(
  { inputSize: 64, inputChannels: 1, stacks: 2, channels: 64, depth: 2, blocks: 1, heatmapSize: 16, landmarks: 490 },
  1,
);
const x = tf.randomUniform([B, 64, 64, 1]) as tf.Tensor4D;
const target = tf.randomUniform([B, 16, 16, 490]) as tf.Tensor4D;
const opt = new AdamW(m.trainableVariables, 0.9, 0.999);
const loss = () => tf.addN(m.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar;
const step = () => {
  const { value, grads } = tf.variableGrads(loss, m.trainableVariables);
  value.dataSync();
  value.dispose();
  opt.apply(grads, 1e-3, 0);
  tf.dispose(grads);
};
step();
step();
stats.clear();
const c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) step();
const u = process.cpuUsage(c0);
const total = (u.user + u.system) / 1e3 / steps;
const kern = [...stats.values()].reduce((s, a) => s + a.us, 0) / 1e3 / steps;
console.log(
  `step ${total.toFixed(1)} ms cpu (${((B * 1000) / total).toFixed(1)} img/s cpu-time), kernels ${kern.toFixed(1)} ms, outside kernels ${(total - kern).toFixed(1)} ms`,
);
for (const [k, s] of [...stats].sort((p, q) => q[1].us - p[1].us).slice(0, 22))
  console.log((s.us / 1e3 / steps).toFixed(1).padStart(8), String(s.n / steps).padStart(6), k);
