/**
 * `lml bench train [--json] [--stacks 2] [--channels 64] [--depth 2] [--landmarks 490] [--batch 16]
 *  [--steps 5] [--warmup 2] [--backend wasm]`: training and inference throughput of the HourglassNet on
 * the current backend.
 *
 * The standard model (all defaults): 64×64×1 input, 2 stacks, 64 channels, depth 2, 1 residual block per
 * level, 490 landmarks on 16×16 heatmaps, batch 16; ≈112 MFLOP forward per image. Data is random (speed
 * does not depend on it). A training step is the forward pass in training mode (batch statistics), an
 * MSE loss on every stack's heatmaps, the backward pass and an Adam update, as in `lml train`. Inference
 * is the forward pass in evaluation mode, read back to the host.
 *
 * `--json` prints ONE line:
 * {"backend","trainImagesPerSec","inferImagesPerSec","flopsPerImage","params","batch",
 *  "model":{"input":[H,W,C],"stacks","channels","depth","landmarks","heatmap":[h,w]}}
 * The PyTorch reference for the same network is packages/training/bench/pytorch_hourglass.py.
 */
import type { Command } from "commander";

interface BenchOptions {
  json?: boolean;
  stacks: string;
  channels: string;
  depth: string;
  landmarks: string;
  batch: string;
  steps: string;
  warmup: string;
  backend?: string;
}

export function register(bench: Command): void {
  bench
    .command("train")
    .description("HourglassNet training and inference images/second on the current tfjs backend")
    .option("--json", "print one JSON line")
    .option("--stacks <n>", "stacked hourglasses", "2")
    .option("--channels <n>", "feature channels", "64")
    .option("--depth <n>", "hourglass depth", "2")
    .option("--landmarks <n>", "heatmap channels", "490")
    .option("--batch <n>", "images per step", "16")
    .option("--steps <n>", "timed steps", "5")
    .option("--warmup <n>", "untimed steps first", "2")
    .option("--backend <name>", "tensorflow-gpu | tensorflow | wasm | cpu (default: LML_BACKEND, else the best available)")
    .action(async (opts: BenchOptions) => {
      await benchTrain(opts);
    });
}

async function benchTrain(opts: BenchOptions): Promise<void> {
  const { UsageError } = await import("@lml/core");
  const int = (name: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const cfg = {
    inputSize: 64,
    inputChannels: 1 as const,
    stacks: int("stacks", opts.stacks),
    channels: int("channels", opts.channels, 2),
    depth: int("depth", opts.depth),
    blocks: 1,
    heatmapSize: 16,
    landmarks: int("landmarks", opts.landmarks),
  };
  const batch = int("batch", opts.batch);
  const steps = int("steps", opts.steps);
  const warmup = int("warmup", opts.warmup, 0);

  const tf = await import("@tensorflow/tfjs-core");
  const { initBackend } = await import("@lml/training/backend");
  const { createHourglass } = await import("@lml/training/model");
  const backend = await initBackend(opts.backend ?? process.env.LML_BACKEND, opts.json ? () => {} : undefined);

  const model = createHourglass(cfg, 1);
  const x = tf.randomUniform([batch, cfg.inputSize, cfg.inputSize, cfg.inputChannels], 0, 1, "float32", 1) as import("@tensorflow/tfjs-core").Tensor4D;
  const target = tf.randomUniform([batch, cfg.heatmapSize, cfg.heatmapSize, cfg.landmarks], 0, 1, "float32", 2);
  const optimizer = tf.train.adam(1e-3);
  const trainStep = () => {
    const loss = optimizer.minimize(
      () => tf.addN(model.forward(x, true).heatmaps.map((h) => tf.losses.meanSquaredError(target, h))) as import("@tensorflow/tfjs-core").Scalar,
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

  const result = {
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
  if (opts.json) {
    process.stdout.write(JSON.stringify(result) + "\n");
  } else {
    const gflops = (ips: number) => ((ips * result.flopsPerImage) / 1e9).toFixed(2);
    process.stdout.write(
      `backend ${backend}: train ${result.trainImagesPerSec} img/s (${gflops(3 * result.trainImagesPerSec)} GFLOP/s counting backward as 2× forward), ` +
        `inference ${result.inferImagesPerSec} img/s (${gflops(result.inferImagesPerSec)} GFLOP/s); ` +
        `${(result.flopsPerImage / 1e6).toFixed(1)} MFLOP/image forward, ${result.params} parameters, batch ${batch}\n`,
    );
  }
}
