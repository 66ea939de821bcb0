import { UsageError } from "./errors";
import { REGIME_TRAITS, type Regime } from "./study";

/**
 * The rules of a RunConfig that combine fields: RunConfigSchema applies them (so `lml grid submit`,
 * the dashboard's Valid check, `lml train` and the worker all reject the same configs, at submit), and
 * the model asserts the model rules again where it is built (`assertModelConfig`).
 *
 * Each problem names the field it is reported on, the value, the rule and the other fields involved:
 * `model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)`.
 */

/** Largest value of a PostgreSQL `integer` (Prisma `Int`): Run.seed, Run.step/totalSteps, MetricPoint.step, Evaluation.count. */
export const DB_INT_MAX = 2 ** 31 - 1;

/**
 * Most bytes one rendered split may take: @lml/synth renders a split into one set of typed arrays and
 * caches it as one file read back into one Buffer, whose length Node caps at 4 GiB
 * (`buffer.constants.MAX_LENGTH` on 64-bit Node 20).
 */
export const MAX_SPLIT_BYTES = 2 ** 32;

/** One problem: the dotted field path it is reported on and what is wrong with it. */
export interface ConfigProblem {
  path: string[];
  message: string;
}

/** Writes a problem as "<field>: <what>". */
export function formatProblem(p: ConfigProblem): string {
  return `${p.path.join(".")}: ${p.message}`;
}

/** The model fields the cross-field rules read (ModelConfig, or HourglassConfig which adds `landmarks`). */
export interface ModelShape {
  inputSize: number;
  heatmapSize: number;
  depth: number;
  channels: number;
}

function isPowerOfTwo(x: number): boolean {
  return Number.isInteger(x) && x >= 1 && (x & (x - 1)) === 0;
}

/**
 * The HourglassNet's shape rules, each reported on `<prefix>.<field>`:
 * - the stem halves the input until it reaches the heatmap: inputSize / heatmapSize is a power of two;
 * - each hourglass level pools by 2: heatmapSize is divisible by 2^depth;
 * - the bottleneck residual blocks use channels / 2 inner channels: channels is even.
 */
export function modelConfigProblems(m: ModelShape, prefix = "model"): ConfigProblem[] {
  const f = (k: keyof ModelShape) => `${prefix}.${k}`;
  const out: ConfigProblem[] = [];
  const ratio = m.inputSize / m.heatmapSize;
  if (!isPowerOfTwo(ratio))
    out.push({
      path: [prefix, "heatmapSize"],
      message:
        `${m.heatmapSize} must be ${f("inputSize")} = ${m.inputSize} divided by a power of two (1, 2, 4, …), ` +
        `since the stem halves the input down to the heatmap (${f("inputSize")} / ${f("heatmapSize")} = ${+ratio.toFixed(3)})`,
    });
  const levels = 2 ** m.depth;
  if (m.heatmapSize % levels !== 0)
    out.push({
      path: [prefix, "heatmapSize"],
      message: `${m.heatmapSize} must be divisible by 2^${f("depth")} = ${levels} (${f("depth")}: ${m.depth})`,
    });
  if (m.channels % 2 !== 0)
    out.push({
      path: [prefix, "channels"],
      message: `${m.channels} must be even (the residual blocks' bottleneck has ${f("channels")} / 2 channels)`,
    });
  return out;
}

/**
 * Throws a UsageError listing every model rule `m` breaks (`where` starts the message): for the
 * model's constructor, as a defensive check of what RunConfigSchema already rejected.
 */
export function assertModelConfig(m: ModelShape, where = "model config", prefix = "model"): void {
  const problems = modelConfigProblems(m, prefix);
  if (problems.length) throw new UsageError(`${where}: ${problems.map(formatProblem).join("; ")}`);
}

/** The parts of a RunConfig the whole-config rules read. */
export interface RunConfigShape {
  regime: Regime;
  model: ModelShape & { inputChannels: number };
  data: {
    scheme: number;
    syntheticTrain: number;
    syntheticTest: number;
    realTrain: number;
    realCommon: number;
    realChallenging: number;
    real: { source: string };
  };
  train: { epochs: number; batchSize: number };
}

/** Optimiser steps of a run: epochs × batches per epoch of the labelled split (at least one). */
export function plannedSteps(c: RunConfigShape): number {
  const labelled = REGIME_TRAITS[c.regime].trainsOn === "real" ? c.data.realTrain : c.data.syntheticTrain;
  return c.train.epochs * Math.max(1, Math.floor(labelled / c.train.batchSize));
}

function gigabytes(bytes: number): string {
  return `${(bytes / 1e9).toPrecision(3)} GB`;
}

/**
 * The model rules, and the bounds that keep a config from failing hours into a run: the step count
 * fits the integer columns it is stored in, and every rendered split fits one buffer.
 */
export function runConfigProblems(c: RunConfigShape): ConfigProblem[] {
  const out = modelConfigProblems(c.model);

  const labelledField = REGIME_TRAITS[c.regime].trainsOn === "real" ? "data.realTrain" : "data.syntheticTrain";
  const steps = plannedSteps(c);
  if (steps > DB_INT_MAX)
    out.push({
      path: ["train", "epochs"],
      message:
        `${c.train.epochs} epochs of ${steps / c.train.epochs} steps (${labelledField} / train.batchSize) make ${steps} steps, ` +
        `more than ${DB_INT_MAX} (Run.step is a 32-bit integer column)`,
    });

  // Rendered splits (synthetic, and the simulated proxy-real ones): images, dense and 68 points, poses.
  const side = c.model.inputSize;
  const imageBytes = 4 * side * side * c.model.inputChannels;
  const splits: (keyof RunConfigShape["data"])[] = [
    "syntheticTrain",
    "syntheticTest",
    ...(c.data.real.source === "proxy-real" ? (["realTrain", "realCommon", "realChallenging"] as const) : []),
  ];
  for (const field of splits) {
    const count = c.data[field] as number;
    // Per image: the pixels (float32), the scheme's points (2 float32 + a visibility byte), 68 points, a pose.
    const bytes = count * (imageBytes + 9 * c.data.scheme + 4 * 136 + 24);
    if (bytes > MAX_SPLIT_BYTES)
      out.push({
        path: ["data", field],
        message:
          `${count} images of ${side}×${side}×${c.model.inputChannels} (model.inputSize, model.inputChannels) take ` +
          `${gigabytes(bytes)}, more than the ${gigabytes(MAX_SPLIT_BYTES)} one rendered split may hold`,
      });
  }
  return out;
}
