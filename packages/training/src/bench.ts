/**
 * `lml bench train`'s measurement: training and inference throughput of the HourglassNet on the current
 * backend. Data is random (speed does not depend on it). A training step is the forward pass in training
 * mode (batch statistics), an MSE loss on every stack's heatmaps, the backward pass and an Adam update
 * (the training loop's AdamW, optim.ts, with no weight decay);
 * inference is the forward pass in evaluation mode, read back to the host. The PyTorch reference for the
 * same network is packages/training/bench/pytorch_hourglass.py (bench/README.md has the numbers).
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "./backend/select";
import { createHourglass, type HourglassConfig } from "./model";
import { AdamW } from "./optim";

export interface TrainBenchOptions {
  /** The network; input 64×64×1, 1 residual block per level and 16×16 heatmaps are fixed. */
  stacks: number;
  channels: number;
  depth: number;
  landmarks: number;
  /** Images per step, timed steps, untimed steps first. */
  batch: number;
  steps: number;
  warmup: number;
  /** A backend name for initBackend (default: LML_BACKEND, else the best available). */
  backend?: string;
  /** Log the backend choice on stderr. */
  verbose?: boolean;
  /** Also measure images per CPU-second of this process (robust on a shared machine): adds `cpu`. */
  cpuClock?: boolean;
}

export interface TrainBenchResult {
  backend: string;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  flopsPerImage: number;
  params: number;
  batch: number;
  model: { input: number[]; stacks: number; channels: number; depth: number; landmarks: number; heatmap: number[] };
  /** With `cpuClock`: the same throughputs per CPU-second (user + system time of this process). */
  cpu?: { trainImagesPerSec: number; inferImagesPerSec: number };
}

export async function benchTraining(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  const cfg: HourglassConfig = {
    inputSize: 64,
    inputChannels: 1,
    stacks: opts.stacks,
    channels: opts.channels,
    depth: opts.depth,
    blocks: 1,
    heatmapSize: 16,
    landmarks: opts.landmarks,
  };
  const { batch, steps, warmup } = opts;
  const backend = await initBackend(opts.backend ?? process.env.LML_BACKEND, opts.verbose ? undefined : () => {});

  const model = createHourglass(cfg, 1);
  const x = tf.randomUniform([batch, cfg.inputSize, cfg.inputSize, cfg.inputChannels], 0, 1, "float32", 1) as tf.Tensor4D;
  const target = tf.randomUniform([batch, cfg.heatmapSize, cfg.heatmapSize, cfg.landmarks], 0, 1, "float32", 2);
  const optimizer = new AdamW(model.trainableVariables, 0.9, 0.999);
  const loss = () => tf.addN(model.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar;
  const trainStep = () => {
    const { value, grads } = tf.variableGrads(loss, model.trainableVariables);
    value.dataSync(); // wait for the step to finish (asynchronous on GPU backends)
    value.dispose();
    optimizer.apply(grads, 1e-3, 0);
    tf.dispose(grads);
  };
  const inferStep = () => tf.tidy(() => void model.forward(x, false).heatmaps[cfg.stacks - 1].dataSync());

  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e3;
  };
  const cpuPerSec = { train: 0, infer: 0 };
  const perSec = (step: () => void, kind: "train" | "infer") => {
    for (let i = 0; i < warmup; i++) step();
    const t0 = performance.now();
    const c0 = cpuMs();
    for (let i = 0; i < steps; i++) step();
    cpuPerSec[kind] = (steps * batch * 1000) / (cpuMs() - c0);
    return (steps * batch * 1000) / (performance.now() - t0);
  };
  const trainImagesPerSec = perSec(trainStep, "train");
  const inferImagesPerSec = perSec(inferStep, "infer");
  const round = (v: number) => Math.round(v * 100) / 100;

  const result: TrainBenchResult = {
    backend,
    trainImagesPerSec: round(trainImagesPerSec),
    inferImagesPerSec: round(inferImagesPerSec),
    flopsPerImage: model.flopsPerImage(),
    params: model.paramCount(),
    batch,
    model: {
      input: [cfg.inputSize, cfg.inputSize, cfg.inputChannels],
      stacks: cfg.stacks,
      channels: cfg.channels,
      depth: cfg.depth,
      landmarks: cfg.landmarks,
      heatmap: [cfg.heatmapSize, cfg.heatmapSize],
    },
  };
  if (opts.cpuClock) result.cpu = { trainImagesPerSec: round(cpuPerSec.train), inferImagesPerSec: round(cpuPerSec.infer) };
  tf.dispose([x, target]);
  optimizer.dispose();
  model.dispose();
  return result;
}
