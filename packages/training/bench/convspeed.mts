// GFLOP/s of single convolutions on the wasm backend (cached filter, CPU time), to compare with
// bench/convspeed.py (PyTorch, one thread) on the same shapes.
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/select.ts";
await initBackend("wasm", () => {});
const shapes: [number, number, number, number, number][] = [
  [16, 16, 32, 32, 3],
  [16, 16, 64, 490, 1],
  [16, 16, 64, 32, 1],
  [16, 16, 32, 64, 1],
  [16, 8, 32, 32, 3],
];
for (const [B, S, ci, co, k] of shapes) {
  const x = tf.randomUniform([B, S, S, ci]) as tf.Tensor4D,
    w = tf.randomUniform([k, k, ci, co]) as tf.Tensor4D;
  const flops = 2 * B * S * S * k * k * ci * co;
  const run = (f: () => tf.Tensor) => {
    tf.tidy(f);
    const t: number[] = [];
    for (let i = 0; i < 15; i++) {
      const c = process.cpuUsage();
      tf.tidy(() => {
        f().dataSync();
      });
      const u = process.cpuUsage(c);
      t.push((u.user + u.system) / 1e3);
    }
    t.sort((a, b) => a - b);
    return t[0];
  };
  const fwd = run(() => tf.conv2d(x, w, 1, "same"));
  const y = tf.conv2d(x, w, 1, "same");
  const dw = run(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, "same"), y)))(w)) - fwd;
  console.log(
    `B${B} ${S}x${S} ${ci}->${co} k${k}: fwd ${fwd.toFixed(2)} ms ${(flops / fwd / 1e6).toFixed(1)} GFLOP/s; dW(+mul,sum) ${dw.toFixed(2)} ms ${(flops / dw / 1e6).toFixed(1)} GFLOP/s`,
  );
}
