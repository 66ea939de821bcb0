/**
 * `lml predict (--run <id|name> | --checkpoint <path>) --images <dir> --out <dir>
 *   [--protocol nearest-subset|test-time-mlp|direct] [--dense] [--overlay]`
 *
 * Predicts the 68 iBUG points of every image (face crops framed like the training data) with a trained
 * run and writes `<stem>.pts` (the image's pixel coordinates, standard 1-based) under --out; `--dense`
 * adds `<stem>.dense.json` (the model's own points), `--overlay` `<stem>.overlay.png`. The logic is
 * @lml/training's predict module; bad input (an unreadable image, an unknown run or checkpoint, a
 * protocol the run cannot serve) is a UsageError: exit 2.
 */
import type { Command } from "commander";

interface PredictFlags {
  run?: string;
  checkpoint?: string;
  images?: string;
  out?: string;
  protocol?: string;
  dense?: boolean;
  overlay?: boolean;
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("predict the 68 iBUG points of face crops with a trained run: writes <stem>.pts per image")
    .option("--run <id|name>", "a finished run of the database (its final checkpoint and kept test-time MLP)")
    .option("--checkpoint <path>", "the folder `lml train --out` wrote, or a checkpoint file")
    .option("--images <dir>", "folder of .jpg/.png face crops (searched recursively), framed like the training data")
    .option("--out <dir>", "folder to write <stem>.pts (and .dense.json, .overlay.png) into")
    .option("--protocol <p>", "nearest-subset | test-time-mlp | direct (default: the run's best available)")
    .option("--dense", "also write the model's dense points, <stem>.dense.json")
    .option("--overlay", "also write <stem>.overlay.png, the image with the points drawn")
    .action(async (flags: PredictFlags) => {
      await runPredict(flags);
    });
}

async function runPredict(flags: PredictFlags): Promise<void> {
  const { UsageError } = await import("@lml/core");
  if (!!flags.run === !!flags.checkpoint) throw new UsageError("predict: give exactly one of --run <id|name> and --checkpoint <path>");
  if (!flags.images) throw new UsageError("predict: --images <dir> is required");
  if (!flags.out) throw new UsageError("predict: --out <dir> is required");
  const { loadPredictor, predictFolder, predictorFromPath, predictorFromRun } = await import("@lml/training");
  let source;
  if (flags.run) {
    const { openQueueDatabase } = await import("@lml/training/worker");
    const db = await openQueueDatabase();
    try {
      source = await predictorFromRun(db.prisma, flags.run);
    } finally {
      await db.close();
    }
  } else source = await predictorFromPath(flags.checkpoint!);

  const predictor = await loadPredictor(source);
  const { SingleBar } = await import("cli-progress");
  const bar = new SingleBar({
    stream: process.stderr,
    format: "predict |{bar}| {percentage}% | {step}",
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  let started = false;
  try {
    const r = await predictFolder(
      predictor,
      {
        images: flags.images,
        out: flags.out,
        protocol: flags.protocol,
        dense: flags.dense,
        overlay: flags.overlay,
        onProgress(done, total) {
          const step = done * 2 <= total ? "reading images" : "predicting";
          if (!started) {
            bar.start(total, done, { step });
            started = true;
          }
          bar.update(done, { step });
        },
      },
      source.where,
    );
    if (started) bar.stop();
    process.stdout.write(
      `${source.where}: ${r.images} image${r.images === 1 ? "" : "s"}, protocol ${r.protocol} (serves ${predictor.protocols.join(", ")}) → ${flags.out}/<stem>.pts` +
        (r.densePoints ? `, <stem>.dense.json (${r.densePoints} points)` : "") +
        (flags.overlay ? ", <stem>.overlay.png" : "") +
        "\n",
    );
  } finally {
    if (started) bar.stop();
    predictor.dispose();
  }
}
