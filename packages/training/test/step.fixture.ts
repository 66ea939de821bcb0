// Tiny configs and fixed batches for tests of one training step (train.test.ts, train-gradients.test.ts).
import * as tf from "@tensorflow/tfjs-core";
import {
  Rng,
  RunConfigSchema,
  modelPoints,
  regimeTraits,
  streamsRealImages,
  type Regime,
  type RunConfig,
  type RunConfigInput,
} from "@lml/core";
import type { StepInput } from "../src/train";

/** A tiny network and an 80-point "dense" scheme, so one step takes milliseconds on the cpu backend. */
export function tinyConfig(regime: Regime, lr = 1e-3, train: RunConfigInput["train"] = {}, model: RunConfigInput["model"] = {}): RunConfig {
  return RunConfigSchema.parse({
    regime,
    seed: 3,
    model: { inputSize: 32, inputChannels: 1, stacks: 2, channels: 16, depth: 1, blocks: 1, heatmapSize: 8, ...model },
    data: { scheme: 80 },
    train: { lr, batchSize: 4, dalnWeight: 1, discWeight: 1, labelWeight: 1, ...train },
    eval: { mlpHidden: 16 },
  });
}

/** A fixed batch: random images, landmarks in the middle of the image. */
export function fixedInput(config: RunConfig, seed: number): StepInput {
  const rng = new Rng(seed);
  const b = 4;
  const side = config.model.inputSize;
  const pts = modelPoints(config.regime, config.data.scheme);
  const img = () =>
    tf.tensor4d(
      Float32Array.from({ length: b * side * side }, () => rng.next()),
      [b, side, side, 1],
    );
  const coords = (n: number) =>
    tf.tensor3d(
      Float32Array.from({ length: b * n * 2 }, () => rng.uniform(0.25, 0.75)),
      [b, n, 2],
    );
  return {
    images: img(),
    coords: coords(pts),
    realImages: streamsRealImages(config.regime) ? img() : undefined,
    realCoords68: streamsRealImages(config.regime) && regimeTraits(config.regime).usesRealLabels ? coords(68) : undefined,
  };
}

export const subsetFor = (config: RunConfig) =>
  Int32Array.from({ length: 68 }, (_, i) => (i * 7) % modelPoints(config.regime, config.data.scheme));
