import * as tf from "@tensorflow/tfjs-core";
import { REGIMES, RunConfigSchema, type Regime, type RunConfig } from "@lml/core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { Rng } from "../src/adaptation";
import { initBackend } from "../src/backend/select";
import { AdamW, buildNets, disposeNets, loadState, modelPoints, regimeLoss, saveState, trainStep, type StepInput } from "../src/train";

// A few tiny steps each; two shared cores need more than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000 });

// The backend CPU machines train on (with the project's replacement kernels), so a kernel it lacks
// fails here rather than in a run.
beforeAll(async () => {
  await initBackend("wasm");
});

/** A tiny network and an 80-point "dense" scheme, so one step takes milliseconds on the cpu backend. */
function tinyConfig(regime: Regime, lr = 1e-3): RunConfig {
  return RunConfigSchema.parse({
    regime,
    seed: 3,
    model: { inputSize: 32, inputChannels: 1, stacks: 2, channels: 16, depth: 1, blocks: 1, heatmapSize: 8 },
    data: { scheme: 80 },
    train: { lr, batchSize: 4, dalnWeight: 1, discWeight: 1, labelWeight: 1 },
    eval: { mlpHidden: 16 },
  });
}

/** A fixed batch: smooth random images, landmarks in the middle of the image. */
function fixedInput(config: RunConfig, seed: number): StepInput {
  const rng = new Rng(seed);
  const b = 4;
  const side = config.model.inputSize;
  const pts = modelPoints(config);
  const img = () => tf.tensor4d(Float32Array.from({ length: b * side * side }, () => rng.next()), [b, side, side, 1]);
  const coords = (n: number) => tf.tensor3d(Float32Array.from({ length: b * n * 2 }, () => rng.uniform(0.25, 0.75)), [b, n, 2]);
  const adapt = config.regime === "syn-real-label-adaptation" || config.regime === "uda-discriminator";
  return {
    images: img(),
    coords: coords(pts),
    realImages: adapt ? img() : undefined,
    realCoords68: config.regime === "syn-real-label-adaptation" ? coords(68) : undefined,
  };
}

const subsetFor = (config: RunConfig) => Int32Array.from({ length: 68 }, (_, i) => (i * 7) % modelPoints(config));

describe("one training step", () => {
  it.each(REGIMES)("reduces the %s loss on a fixed batch", (regime) => {
    const config = tinyConfig(regime);
    const nets = buildNets(config, subsetFor(config));
    const opt = new AdamW(nets.variables);
    const input = fixedInput(config, 11);
    const before = trainStep(config, nets, opt, input, 0, config.train.lr);
    const after = tf.tidy(() => regimeLoss(config, nets, input, 0).total.dataSync()[0]);
    expect(Number.isFinite(before.total)).toBe(true);
    expect(after).toBeLessThan(before.total);
    // Steps leave no tensors behind (a leak would grow the heap every step of a long run).
    const live = tf.memory().numTensors;
    trainStep(config, nets, opt, input, 1, config.train.lr);
    expect(tf.memory().numTensors).toBe(live);
    if (regime === "syn-real-label-adaptation") expect(Object.keys(before)).toEqual(expect.arrayContaining(["label", "daln"]));
    if (regime === "uda-discriminator") expect(Object.keys(before)).toContain("domain");
    opt.dispose();
    disposeNets(nets);
  });

  it("names the step when the loss is not finite", () => {
    const config = tinyConfig("synthetic-only");
    const nets = buildNets(config, subsetFor(config));
    const opt = new AdamW(nets.variables);
    const input = fixedInput(config, 1);
    // (NaN images would not do: the wasm ReLU maps NaN to 0.)
    input.coords = tf.fill(input.coords.shape, NaN) as tf.Tensor3D;
    expect(() => trainStep(config, nets, opt, input, 6, 1e-3)).toThrow(/at step 7/);
    opt.dispose();
    disposeNets(nets);
  });
});

describe("checkpoints", () => {
  it.each(["syn-real-label-adaptation", "uda-discriminator"] as const)(
    "a %s run resumed from its checkpoint produces the identical next loss",
    (regime) => {
      const config = tinyConfig(regime);
      const a = buildNets(config, subsetFor(config));
      const optA = new AdamW(a.variables);
      trainStep(config, a, optA, fixedInput(config, 1), 0, 1e-3);
      trainStep(config, a, optA, fixedInput(config, 2), 1, 1e-3);
      const cursor = { step: 2, epoch: 0, batchInEpoch: 2, realEpoch: 0, realBatch: 2, rng: 99 };
      const bytes = saveState(config, a, optA, cursor);
      const nextA = trainStep(config, a, optA, fixedInput(config, 3), 2, 1e-3);
      const afterA = trainStep(config, a, optA, fixedInput(config, 4), 3, 1e-3);

      // A fresh process: other initial weights (seed), same config otherwise → the checkpoint must win.
      const b = buildNets({ ...config, seed: 77 }, subsetFor(config));
      const optB = new AdamW(b.variables);
      expect(loadState(config, b, optB, bytes)).toEqual(cursor);
      const nextB = trainStep(config, b, optB, fixedInput(config, 3), 2, 1e-3);
      const afterB = trainStep(config, b, optB, fixedInput(config, 4), 3, 1e-3);
      expect(nextB).toEqual(nextA);
      expect(afterB.total).toBe(afterA.total); // the optimiser moments came back too
      for (const x of [optA, optB]) x.dispose();
      disposeNets(a);
      disposeNets(b);
    },
  );

  it("refuses a checkpoint of another configuration", () => {
    const config = tinyConfig("synthetic-only");
    const a = buildNets(config, subsetFor(config));
    const opt = new AdamW(a.variables);
    const bytes = saveState(config, a, opt, { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: 1 });
    expect(() => loadState({ ...config, train: { ...config.train, lr: 0.5 } }, a, opt, bytes)).toThrow(/different configuration/);
    opt.dispose();
    disposeNets(a);
  });
});
