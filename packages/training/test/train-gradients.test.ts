// Where one step's gradients go (issue 14.6): the adversarial terms at λ > 0 move the critic and the
// features in opposite directions, the real 68-point labels reach the backbone, and the gradients of the
// whole model match finite differences of the regime loss, gradient reversal included.
import * as tf from "@tensorflow/tfjs-core";
import { type RunConfig } from "@lml/core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { dalnBlock, dalnDiscrepancy, rampLambda } from "../src/adaptation/daln";
import { initBackend } from "../src/backend/select";
import { buildNets, disposeNets, type Nets } from "../src/nets";
import { createOptimiser } from "../src/optim";
import { regimeLoss, trainStep, type StepInput } from "../src/train";
import { fixedInput, subsetFor, tinyConfig } from "./step.fixture";

vi.setConfig({ testTimeout: 60_000 });

beforeAll(async () => {
  await initBackend("wasm");
});

type Snapshot = Record<string, Float32Array>;
const snapshot = (vars: Record<string, tf.Variable>): Snapshot =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
const restore = (vars: Record<string, tf.Variable>, from: Snapshot, only: (name: string) => boolean) => {
  for (const [k, v] of Object.entries(vars)) if (only(k)) v.assign(tf.tensor(from[k], v.shape));
};
/**
 * The adversarial quantities computed here, not read from regimeLoss, so that a wrong sign in how the
 * regime loss combines them cannot hide: DALN's W on the last stack's head, or DANN's domain BCE, for the
 * step's batch (forward as in training: batch statistics; the reversal is the identity forward).
 */
function adversarial(config: RunConfig, nets: Nets, input: StepInput, step: number): number {
  return tf.tidy(() => {
    const bs = input.images.shape[0];
    const { features } = nets.model.forward(tf.concat([input.images, input.realImages!]), true);
    const fs = tf.slice(features, [0, 0, 0, 0], [bs, -1, -1, -1]);
    const ft = tf.slice(features, [bs, 0, 0, 0], [-1, -1, -1, -1]);
    if (nets.discriminator) return nets.discriminator.loss(fs, ft).dataSync()[0];
    const k = nets.model.config.landmarks;
    return dalnDiscrepancy(nets.model.head(fs), nets.model.head(ft), dalnBlock(step, k, config.train.dalnBlock)).dataSync()[0];
  });
}

describe("the adversarial terms at λ > 0", () => {
  // Only the adversarial term carries weight, and the step is past the start of the ramp (λ = tanh(1)).
  const adversarialOnly = { heatmapWeight: 0, coordWeight: 0, labelWeight: 0, rampSteps: 10 };
  const step = 10;

  it("DALN: the head (critic) raises W, the features lower it", () => {
    const config = tinyConfig("syn-real-label-adaptation", 1e-4, { ...adversarialOnly, dalnWeight: 1 });
    expect(rampLambda(step, config.train.rampSteps)).toBeGreaterThan(0.7);
    const nets = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, nets.variables);
    const input = fixedInput(config, 8);
    const model = nets.model.getState() as Record<string, tf.Variable>;
    const head = (name: string) => name.startsWith(`stack${config.model.stacks}.head.`);
    const before = snapshot(model);
    const w0 = adversarial(config, nets, input, step);
    trainStep(config, nets, opt, input, step, config.train.lr);
    const after = snapshot(model);
    // The critic's step alone (features as before): W must rise. (Old stats buffers are restored too.)
    restore(model, before, (k) => !head(k));
    const wHead = adversarial(config, nets, input, step);
    // The features' step alone (the critic as before): W must fall.
    restore(model, after, (k) => !head(k));
    restore(model, before, head);
    const wFeatures = adversarial(config, nets, input, step);
    expect(wHead).toBeGreaterThan(w0 + 1e-6);
    expect(wFeatures).toBeLessThan(w0 - 1e-6);
    opt.dispose();
    disposeNets(nets);
  });

  it("DANN: the discriminator lowers its domain loss, the features raise it", () => {
    const config = tinyConfig("uda-discriminator", 1e-4, { ...adversarialOnly, discWeight: 1 });
    const nets = buildNets(config, subsetFor(config));
    const opt = createOptimiser(config, nets.variables);
    const input = fixedInput(config, 9);
    const model = nets.model.getState() as Record<string, tf.Variable>;
    const disc = nets.discriminator!.named;
    const modelBefore = snapshot(model);
    const discBefore = snapshot(disc);
    const d0 = adversarial(config, nets, input, step);
    trainStep(config, nets, opt, input, step, config.train.lr);
    const modelAfter = snapshot(model);
    restore(model, modelBefore, () => true);
    const dDisc = adversarial(config, nets, input, step);
    restore(model, modelAfter, () => true);
    restore(disc, discBefore, () => true);
    const dFeatures = adversarial(config, nets, input, step);
    expect(dDisc).toBeLessThan(d0 - 1e-6);
    expect(dFeatures).toBeGreaterThan(d0 + 1e-6);
    opt.dispose();
    disposeNets(nets);
  });
});

describe("the real 68-point labels", () => {
  it.each(["mlp", "unet"] as const)("reach the backbone through the %s label transfer", (labelTransfer) => {
    const config = tinyConfig("syn-real-label-adaptation", 1e-3, { labelTransfer, heatmapWeight: 0, coordWeight: 0, dalnWeight: 0 });
    const nets = buildNets(config, subsetFor(config));
    const input = fixedInput(config, 4);
    const names = Object.keys(nets.model.getState());
    const { grads, value } = tf.variableGrads(() => regimeLoss(config, nets, input, 0).total, nets.model.trainableVariables);
    expect(value.dataSync()[0]).toBeGreaterThan(0); // the label term alone
    const largest = (name: string) => {
      const i = nets.model.trainableVariables.indexOf(nets.model.getState()[name] as tf.Variable);
      return tf.max(tf.abs(Object.values(grads)[i])).dataSync()[0];
    };
    // The first layer of the backbone, and the last stack's head (which makes the dense maps it reads).
    expect(names).toContain("stem.conv.w");
    expect(largest("stem.conv.w")).toBeGreaterThan(1e-7);
    expect(largest(`stack${config.model.stacks}.head.w`)).toBeGreaterThan(1e-7);
    tf.dispose([value, ...Object.values(grads)]);
    disposeNets(nets);
  });
});

describe("whole-model gradients", () => {
  /**
   * Central differences of the regime loss along a direction v in a group of variables, against the
   * analytic gradient's projection g·v. tfjs computes in float32 here (no float64 backend), so: a tiny
   * network (32-px input, 8×8 heatmaps, 8 channels) whose loss is O(1); v = g/|g| restricted to the group,
   * so g·v = |g|, the largest signal; h = 1e-3 in parameter norm. Rounding then costs ε·L/(h·|g|) ≲ 5e-3.
   * The larger error is the ReLUs after batch-norm: the units a move of h carries across 0 make central
   * differences converge only as O(h) (measured on the stem: 0.23 at h = 0.1, 1.18 at 0.01, 1.43 at 1e-3,
   * against |g| = 1.46), ≈ 2–4 % at h = 1e-3. Hence a 6 % tolerance; a wrong gradient (a branch cut, a
   * sign, the reversal's λ) is off by far more.
   */
  function check(config: RunConfig, step: number) {
    const nets = buildNets(config, subsetFor(config));
    const input = fixedInput(config, 12);
    const named: Record<string, tf.Variable> = {
      ...(nets.model.getState() as Record<string, tf.Variable>),
      ...(nets.transfer?.named ?? {}),
    };
    const names = Object.keys(named).filter((k) => named[k].trainable);
    const { grads } = tf.variableGrads(
      () => regimeLoss(config, nets, input, step).total,
      names.map((k) => named[k]),
    );
    const g = Object.fromEntries(names.map((k, i) => [k, Float32Array.from(Object.values(grads)[i].dataSync())]));
    tf.dispose(Object.values(grads));
    const base = snapshot(named);
    const parts = (): Record<string, number> =>
      tf.tidy(() => Object.fromEntries(Object.entries(regimeLoss(config, nets, input, step)).map(([k, v]) => [k, v.dataSync()[0]])));
    /** Finite differences of every loss part along g restricted to `group`, and |g| there. */
    const along = (group: (name: string) => boolean, h = 1e-3) => {
      const members = names.filter(group);
      const norm = Math.sqrt(members.reduce((s, k) => s + g[k].reduce((a, x) => a + x * x, 0), 0));
      const moved = (sign: number) => {
        for (const k of members)
          named[k].assign(
            tf.tensor(
              base[k].map((x, i) => x + (sign * h * g[k][i]) / norm),
              named[k].shape,
            ),
          );
        return parts();
      };
      const plus = moved(1);
      const minus = moved(-1);
      restore(named, base, () => true);
      const fd = Object.fromEntries(Object.keys(plus).map((k) => [k, (plus[k] - minus[k]) / (2 * h)]));
      return { fd, norm };
    };
    return { nets, along };
  }

  it("match finite differences of the landmark loss (synthetic-only)", () => {
    const config = tinyConfig("synthetic-only", 1e-3, {}, { channels: 8 });
    const { nets, along } = check(config, 0);
    for (const group of [
      (k: string) => k.startsWith("stem."),
      (k: string) => k.startsWith("stack1."),
      (k: string) => k.startsWith("stack2."),
    ]) {
      const { fd, norm } = along(group);
      expect(norm).toBeGreaterThan(1e-4);
      expect(Math.abs(fd.total - norm) / norm).toBeLessThan(0.06);
    }
    disposeNets(nets);
  });

  it("match finite differences of syn-real-label-adaptation's loss, the reversal's −λ on the backbone included", () => {
    // DALN weighted up and early in the ramp (λ = tanh(0.3) ≈ 0.29), so that its reversed share of the
    // backbone's gradient is large: reversal by −1 instead of −λ, or none, is then off by ×2 or more.
    const config = tinyConfig(
      "syn-real-label-adaptation",
      1e-3,
      { rampSteps: 10, dalnWeight: 4, heatmapWeight: 0.25, coordWeight: 0.25 },
      { channels: 8 },
    );
    const step = 3;
    const lambda = rampLambda(step, config.train.rampSteps);
    const { nets, along } = check(config, step);
    const { dalnWeight, labelWeight, heatmapWeight, coordWeight } = config.train;
    const head = (k: string) => k.startsWith(`stack${config.model.stacks}.head.`);
    // The head and the label-transfer net sit after the reversal: their gradient is the loss's own.
    for (const group of [head, (k: string) => k.startsWith("transfer/")]) {
      const { fd, norm } = along(group);
      expect(Math.abs(fd.total - norm) / norm).toBeLessThan(0.06);
    }
    // The backbone sees the task terms as they are and DALN's W through the reversal: g = ∂task + λ·w·∂W.
    for (const group of [(k: string) => k.startsWith("stem."), (k: string) => k.startsWith("stack1.")]) {
      const { fd, norm } = along(group);
      const reversed = heatmapWeight * fd.heatmap + coordWeight * fd.coord + labelWeight * fd.label + lambda * dalnWeight * fd.daln;
      expect(Math.abs(fd.daln)).toBeGreaterThan(1e-3 * norm); // W does depend on these weights
      expect(Math.abs(reversed - norm) / norm).toBeLessThan(0.06);
      expect(Math.abs(fd.total - norm) / norm).toBeGreaterThan(0.06); // without the reversal it would not match
    }
    disposeNets(nets);
  });
});
