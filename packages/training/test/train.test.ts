import * as tf from "@tensorflow/tfjs-core";
import { REGIMES, RunConfigSchema, UsageError, type Regime, type RunConfigInput } from "@lml/core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { LabelTransferUNet } from "../src/adaptation/transfer";
import { initBackend } from "../src/backend/select";
import { decodeCheckpoint } from "../src/checkpoint";
import { buildNets, disposeNets } from "../src/nets";
import { createOptimiser, learningRate } from "../src/optim";
import { loadState, saveState } from "../src/state";
import { regimeLoss, trainStep } from "../src/train";
import { fixedInput, subsetFor, tinyConfig } from "./step.fixture";

// A few tiny steps each; two shared cores need more than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000 });

// The backend CPU machines train on (with the project's replacement kernels), so a kernel it lacks
// fails here rather than in a run.
beforeAll(async () => {
  await initBackend("wasm");
});

/** Every regime with default knobs, plus syn-real-label-adaptation with the U-Net label transfer. */
const STEP_CASES: Array<[string, Regime, RunConfigInput["train"]]> = [
  ...REGIMES.map((r): [string, Regime, RunConfigInput["train"]] => [r, r, {}]),
  ["syn-real-label-adaptation (U-Net label transfer)", "syn-real-label-adaptation", { labelTransfer: "unet" }],
];

describe("one training step", () => {
  // At step 0 the adversarial ramp is λ = tanh(0) = 0: this checks the task terms and the plumbing only.
  // What the adversarial terms do at λ > 0 is train-gradients.test.ts's.
  it.each(STEP_CASES)("reduces the %s loss on a fixed batch at step 0", (_name, regime, train) => {
    const config = tinyConfig(regime, 1e-3, train);
    const nets = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, nets.variables);
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

  it("trains every U-Net label-transfer variable, and its label loss falls", () => {
    const config = tinyConfig("syn-real-label-adaptation", 1e-3, { labelTransfer: "unet" });
    const nets = buildNets(config, subsetFor(config));
    expect(nets.transfer).toBeInstanceOf(LabelTransferUNet);
    expect(nets.variables).toEqual(expect.arrayContaining(nets.transfer!.variables));
    const opt = createOptimiser(config, nets.variables);
    const input = fixedInput(config, 5);
    const initial = Object.fromEntries(Object.entries(nets.transfer!.named).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    const before = trainStep(config, nets, opt, input, 0, config.train.lr);
    // A variable whose gradient never arrived would keep its value (AdamW moves anything with g ≠ 0 by ≈ lr).
    for (const [name, v] of Object.entries(nets.transfer!.named)) {
      const now = Array.from(v.dataSync());
      const moved = now.reduce((m, x, i) => Math.max(m, Math.abs(x - initial[name][i])), 0);
      expect(moved, name).toBeGreaterThan(1e-4);
    }
    const after = tf.tidy(() => regimeLoss(config, nets, input, 0).label.dataSync()[0]);
    expect(after).toBeLessThan(before.label);
    opt.dispose();
    disposeNets(nets);
  });

  it("names the step when the loss is not finite", () => {
    const config = tinyConfig("synthetic-only");
    const nets = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, nets.variables);
    const input = fixedInput(config, 1);
    // (NaN images would not do: the wasm ReLU maps NaN to 0.)
    input.coords = tf.fill(input.coords.shape, NaN) as tf.Tensor3D;
    expect(() => trainStep(config, nets, opt, input, 6, 1e-3)).toThrow(/at step 7/);
    opt.dispose();
    disposeNets(nets);
  });
});

describe("checkpoints", () => {
  it.each([
    ["syn-real-label-adaptation", {}],
    ["syn-real-label-adaptation", { labelTransfer: "unet" }],
    ["uda-discriminator", {}],
  ] as const)("a %s run %j resumed from its checkpoint produces the identical next loss", (regime, train) => {
    const config = tinyConfig(regime, 1e-3, train);
    const a = buildNets(config, subsetFor(config));
    const optA = createOptimiser(config, a.variables);
    trainStep(config, a, optA, fixedInput(config, 1), 0, 1e-3);
    trainStep(config, a, optA, fixedInput(config, 2), 1, 1e-3);
    const cursor = { step: 2, epoch: 0, batchInEpoch: 2, realEpoch: 0, realBatch: 2, rng: 99 };
    const bytes = saveState(config, a, optA, cursor);
    const nextA = trainStep(config, a, optA, fixedInput(config, 3), 2, 1e-3);
    const afterA = trainStep(config, a, optA, fixedInput(config, 4), 3, 1e-3);

    // A fresh process: other initial weights (seed), same config otherwise → the checkpoint must win.
    const b = buildNets({ ...config, seed: 77 }, subsetFor(config));
    const optB = createOptimiser(config, b.variables);
    expect(loadState(config, b, optB, bytes)).toEqual(cursor);
    const nextB = trainStep(config, b, optB, fixedInput(config, 3), 2, 1e-3);
    const afterB = trainStep(config, b, optB, fixedInput(config, 4), 3, 1e-3);
    expect(nextB).toEqual(nextA);
    expect(afterB.total).toBe(afterA.total); // the optimiser moments came back too
    for (const x of [optA, optB]) x.dispose();
    disposeNets(a);
    disposeNets(b);
  });

  it("refuses a checkpoint of another configuration", () => {
    const config = tinyConfig("synthetic-only");
    const a = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, a.variables);
    const bytes = saveState(config, a, opt, { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: 1 });
    expect(() => loadState({ ...config, train: { ...config.train, lr: 0.5 } }, a, opt, bytes)).toThrow(/different configuration/);
    opt.dispose();
    disposeNets(a);
  });

  it("refuses a checkpoint of the other label-transfer variant, both ways", () => {
    const cursor = { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: 1 };
    const mlp = tinyConfig("syn-real-label-adaptation");
    const unet = tinyConfig("syn-real-label-adaptation", 1e-3, { labelTransfer: "unet" });
    const a = buildNets(mlp, subsetFor(mlp));
    const b = buildNets(unet, subsetFor(unet));
    const optA = createOptimiser(mlp, a.variables);
    const optB = createOptimiser(unet, b.variables);
    const fromMlp = saveState(mlp, a, optA, cursor);
    const fromUnet = saveState(unet, b, optB, cursor);
    // The U-Net's weights are in its checkpoint, under their own names.
    expect(Object.keys(decodeCheckpoint(fromUnet).tensors)).toEqual(
      expect.arrayContaining(["net/transfer-unet/w1", "net/transfer-unet/b5"]),
    );
    expect(() => loadState(unet, b, optB, fromMlp)).toThrow(/different configuration/);
    expect(() => loadState(mlp, a, optA, fromUnet)).toThrow(/different configuration/);
    for (const x of [optA, optB]) x.dispose();
    disposeNets(a);
    disposeNets(b);
  });

  it("leaves later knobs at their old hard-coded values out of the fingerprint (older checkpoints still resume)", () => {
    const config = tinyConfig("uda-discriminator");
    const a = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, a.variables);
    const bytes = saveState(config, a, opt, { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: 1 });
    const { fingerprint } = decodeCheckpoint<{ fingerprint: string }>(bytes).meta;
    for (const k of [
      "labelTransfer",
      "heatmapSigma",
      "lrSchedule",
      "discHidden",
      "unetChannels",
      "dalnBlock",
      "adamBeta1",
      "adamBeta2",
      "transferHidden",
    ])
      expect(fingerprint).not.toContain(k);
    for (const train of [
      { heatmapSigma: 1.5 },
      { lrSchedule: "constant" as const },
      { discHidden: 32 },
      { dalnBlock: 16 },
      { adamBeta2: 0.99 },
    ]) {
      expect(() => loadState(tinyConfig("uda-discriminator", 1e-3, train), a, opt, bytes)).toThrow(/different configuration/);
    }
    opt.dispose();
    disposeNets(a);
  });

  it("refuses, naming train.transferHidden, a label-transfer width that changed with eval.mlpHidden (issue 14.3)", () => {
    // train.transferHidden left out follows eval.mlpHidden, which otherwise may change on resume.
    const cursor = { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: 1 };
    const config = tinyConfig("syn-real-label-adaptation");
    const a = buildNets(config, subsetFor(config));
    expect(a.transfer!.named["transfer/w1"].shape).toEqual([2 * 80, config.eval.mlpHidden]);
    const bytes = saveState(config, a, createOptimiser(config, a.variables), cursor);
    const wider = RunConfigSchema.parse({
      ...config,
      train: { ...config.train, transferHidden: undefined },
      eval: { ...config.eval, mlpHidden: 32 },
    });
    expect(wider.train.transferHidden).toBe(32);
    const b = buildNets(wider, subsetFor(wider));
    expect(() => loadState(wider, b, createOptimiser(wider, b.variables), bytes)).toThrow(
      "different configuration (train.transferHidden: 16 in the checkpoint, 32 in this configuration (the label-transfer MLP's width; " +
        "left out, it is eval.mlpHidden: give train.transferHidden: 16 to resume); only train.epochs and eval may change on resume)",
    );
    expect(() => loadState(wider, b, createOptimiser(wider, b.variables), bytes)).toThrow(UsageError);
    disposeNets(a);
    disposeNets(b);
  });

  it.each([
    ["syn-real-label-adaptation", { transferHidden: 16 }],
    ["syn-real-label-adaptation", { labelTransfer: "unet" }],
    ["uda-discriminator", {}],
  ] as const)("a %s run %j resumes when only eval settings change, eval.mlpHidden included", (regime, train) => {
    const config = tinyConfig(regime, 1e-3, train);
    const a = buildNets(config, subsetFor(config));
    const optA = createOptimiser(config, a.variables);
    trainStep(config, a, optA, fixedInput(config, 1), 0, 1e-3);
    const cursor = { step: 1, epoch: 0, batchInEpoch: 1, realEpoch: 0, realBatch: 1, rng: 5 };
    const bytes = saveState(config, a, optA, cursor);
    const nextA = trainStep(config, a, optA, fixedInput(config, 2), 1, 1e-3);
    const changed = RunConfigSchema.parse({
      ...config,
      eval: { mlpHidden: 64, mlpEpochs: 7, everyEpochs: 2, batchSize: 8, sampleImages: 0 },
    });
    const b = buildNets({ ...changed, seed: 77 }, subsetFor(changed));
    const optB = createOptimiser(changed, b.variables);
    expect(loadState(changed, b, optB, bytes)).toEqual(cursor);
    expect(trainStep(changed, b, optB, fixedInput(config, 2), 1, 1e-3)).toEqual(nextA);
    for (const x of [optA, optB]) x.dispose();
    disposeNets(a);
    disposeNets(b);
  });
});

describe("training knobs", () => {
  it("lrSchedule: cosine decays to lr/10, constant keeps lr", () => {
    const cosine = tinyConfig("synthetic-only", 0.01);
    const constant = tinyConfig("synthetic-only", 0.01, { lrSchedule: "constant" });
    expect(cosine.train.lrSchedule).toBe("cosine"); // the default keeps the study's schedule
    expect(learningRate(cosine, 0, 100)).toBeCloseTo(0.01, 8);
    expect(learningRate(cosine, 50, 100)).toBeCloseTo(0.0055, 8);
    expect(learningRate(cosine, 100, 100)).toBeCloseTo(0.001, 8);
    for (const step of [0, 50, 100]) expect(learningRate(constant, step, 100)).toBe(0.01);
  });

  it("discHidden sets the discriminator's width; heatmapSigma changes the landmark loss", () => {
    for (const [train, width] of [
      [{}, 64],
      [{ discHidden: 24 }, 24],
    ] as const) {
      const config = tinyConfig("uda-discriminator", 1e-3, train);
      const nets = buildNets(config, subsetFor(config));
      expect(nets.discriminator!.w1.shape).toEqual([config.model.channels, width]);
      disposeNets(nets);
    }
    const loss = (heatmapSigma: number) => {
      const config = tinyConfig("synthetic-only", 1e-3, { heatmapSigma });
      const nets = buildNets(config, subsetFor(config));
      const input = fixedInput(config, 2);
      const l = tf.tidy(() => regimeLoss(config, nets, input, 0).heatmap.dataSync()[0]);
      disposeNets(nets);
      return l;
    };
    expect(Math.abs(loss(2) - loss(1))).toBeGreaterThan(1e-3);
  });
});
