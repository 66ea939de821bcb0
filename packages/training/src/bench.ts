/**
 * `lml bench train`'s measurement: training and inference throughput of the HourglassNet on the current
 * backend. Data is random (speed does not depend on it). A training step is the forward pass in training
 * mode (batch statistics), an MSE loss on every stack's heatmaps, the backward pass and an Adam update;
 * inference is the forward pass in evaluation mode, read back to the host. The PyTorch reference for the
 * same network is packages/training/bench/pytorch_hourglass.py (bench/README.md has the numbers).
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "./backend/select";
import { createHourglass, type HourglassConfig } from "./model";

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
}

export interface TrainBenchResult {
  backend: string;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  flopsPerImage: number;
  params: number;
  batch: number;
  model: { input: number[]; stacks: number; channels: number; depth: number; landmarks: number; heatmap: number[] };
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
  const optimizer = tf.train.adam(1e-3);
  const trainStep = () => {
    const loss = optimizer.minimize(
      () => tf.addN(model.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as tf.Scalar,
      true,
      model.trainableVariables,
    );
    loss?.dataSync(); // wait for the step to finish (asynchronous on GPU backends)
    loss?.dispose();
  };
  const inferStep = () => tf.tidy(() => void model.forward(x, false).heatmaps[cfg.stacks - 1].dataSync());

  const perSec = (step: () => void) => {
    for (let i = 0; i < warmup; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    return (steps * batch * 1000) / (performance.now() - t0);
  };
  const trainImagesPerSec = perSec(trainStep);
  const inferImagesPerSec = perSec(inferStep);

  const result: TrainBenchResult = {
    backend,
    trainImagesPerSec: Math.round(trainImagesPerSec * 100) / 100,
    inferImagesPerSec: Math.round(inferImagesPerSec * 100) / 100,
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
  tf.dispose([x, target]);
  optimizer.dispose();
  model.dispose();
  return result;
}
