/**
 * `lml bench train [--json] [--stacks 2] [--channels 64] [--depth 2] [--landmarks 490] [--batch 16]
 *  [--steps 5] [--warmup 2] [--backend wasm]`: training and inference throughput of the HourglassNet on
 * the current backend.
 *
 * The standard model (all defaults): 64×64×1 input, 2 stacks, 64 channels, depth 2, 1 residual block per
 * level, 490 landmarks on 16×16 heatmaps, batch 16; ≈112 MFLOP forward per image. What a step is:
 * @lml/training's bench.ts.
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
    .option("--backend <name>", "tensorflow-gpu | tensorflow | native | wasm | cpu (default: LML_BACKEND, else the best available)")
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
  const options = {
    stacks: int("stacks", opts.stacks),
    channels: int("channels", opts.channels, 2),
    depth: int("depth", opts.depth),
    landmarks: int("landmarks", opts.landmarks),
    batch: int("batch", opts.batch),
    steps: int("steps", opts.steps),
    warmup: int("warmup", opts.warmup, 0),
    backend: opts.backend,
    verbose: !opts.json,
  };
  const { benchTraining } = await import("@lml/training/bench");
  const result = await benchTraining(options);
  if (opts.json) {
    process.stdout.write(JSON.stringify(result) + "\n");
    return;
  }
  const gflops = (ips: number) => ((ips * result.flopsPerImage) / 1e9).toFixed(2);
  process.stdout.write(
    `backend ${result.backend}: train ${result.trainImagesPerSec} img/s (${gflops(3 * result.trainImagesPerSec)} GFLOP/s counting backward as 2× forward), ` +
      `inference ${result.inferImagesPerSec} img/s (${gflops(result.inferImagesPerSec)} GFLOP/s); ` +
      `${(result.flopsPerImage / 1e6).toFixed(1)} MFLOP/image forward, ${result.params} parameters, batch ${result.batch}\n`,
  );
}
