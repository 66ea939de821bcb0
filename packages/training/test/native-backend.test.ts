/**
 * The native (oneDNN) backend trains the same networks as the cpu backend: for every regime, the loss,
 * the gradient of every trainable variable and the updated running statistics of one training step agree
 * with the cpu backend's (relative error max|native − cpu| / max|cpu| < 1e-4 per variable), and AdamW's
 * fused native update is bit-identical to its JS loop. Skipped where the addon is not built (CI builds it
 * and fails here if it did not).
 */
import * as tf from "@tensorflow/tfjs-core";
import { REGIMES, Rng, RunConfigSchema, modelPoints, regimeTraits, streamsRealImages, type Regime, type RunConfig } from "@lml/core";
import { nativeAvailability } from "@lml/tfjs-backend-native";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { initBackend } from "../src/backend/select";
import { buildNets, disposeNets } from "../src/nets";
import { AdamW } from "../src/optim";
import { regimeLoss, type StepInput } from "../src/train";

vi.setConfig({ testTimeout: 120_000 });

const availability = nativeAvailability();
if (!availability.available && process.env.CI) throw new Error(`CI must build the native addon: ${availability.reason}`);

beforeAll(async () => {
  await initBackend("cpu", () => {});
  if (availability.available) await initBackend("native", () => {});
});

function tinyConfig(regime: Regime): RunConfig {
  return RunConfigSchema.parse({
    regime,
    seed: 5,
    model: { inputSize: 32, inputChannels: 1, stacks: 2, channels: 16, depth: 2, blocks: 1, heatmapSize: 8 },
    data: { scheme: 80 },
    train: { batchSize: 4, dalnWeight: 1, discWeight: 1, labelWeight: 1 },
    eval: { mlpHidden: 16 },
  });
}

/** Batch data as arrays, so that each backend builds its own tensors from identical values. */
function batchData(config: RunConfig, seed: number) {
  const rng = new Rng(seed);
  const b = 4;
  const side = config.model.inputSize;
  const images = () => ({ data: Float32Array.from({ length: b * side * side }, () => rng.next()), shape: [b, side, side, 1] });
  const coords = (n: number) => ({ data: Float32Array.from({ length: b * n * 2 }, () => rng.uniform(0.2, 0.8)), shape: [b, n, 2] });
  const real = streamsRealImages(config.regime);
  return {
    images: images(),
    coords: coords(modelPoints(config.regime, config.data.scheme)),
    realImages: real ? images() : undefined,
    realCoords68: real && regimeTraits(config.regime).usesRealLabels ? coords(68) : undefined,
  };
}

type Batch = ReturnType<typeof batchData>;

function tensors(b: Batch): StepInput {
  const t = (a?: { data: Float32Array; shape: number[] }) => (a ? tf.tensor(a.data, a.shape) : undefined);
  return {
    images: t(b.images) as tf.Tensor4D,
    coords: t(b.coords) as tf.Tensor3D,
    realImages: t(b.realImages) as tf.Tensor4D | undefined,
    realCoords68: t(b.realCoords68) as tf.Tensor3D | undefined,
  };
}

const subsetFor = (config: RunConfig) =>
  Int32Array.from({ length: 68 }, (_, i) => (i * 7) % modelPoints(config.regime, config.data.scheme));

/** One step's loss, every variable's gradient and the running statistics afterwards, on `backend`. */
function step(backend: string, config: RunConfig, batch: Batch) {
  tf.setBackend(backend);
  const nets = buildNets(config, subsetFor(config));
  try {
    return tf.tidy(() => {
      const input = tensors(batch);
      const { value, grads } = tf.variableGrads(() => regimeLoss(config, nets, input, 10).total, nets.variables);
      const state = nets.model.getState();
      const stats = Object.keys(state).filter((k) => k.endsWith(".mean") || k.endsWith(".var"));
      return {
        loss: value.dataSync()[0],
        // In creation order (tfjs names variables from a global counter, so names differ between builds).
        grads: nets.variables.map((v) => Float32Array.from(grads[v.name]?.dataSync() ?? new Float32Array(v.size))),
        names: nets.variables.map((v, i) => `variable ${i} (${v.shape.join("×")})`),
        stats: Object.fromEntries(stats.map((k) => [k, Float32Array.from(state[k].dataSync())])),
      };
    });
  } finally {
    disposeNets(nets);
  }
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** max|a − b| / max|b|, with max|b| floored at `floor` (see the whole-step test). */
function relErr(a: Float32Array, b: Float32Array, floor = 0): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff / Math.max(maxAbs(b), floor, 1e-30);
}

describe.skipIf(!availability.available)("the native backend against the cpu backend", () => {
  it.each(REGIMES)("a whole %s training step: loss, every gradient, running statistics", (regime) => {
    const config = tinyConfig(regime);
    const batch = batchData(config, 11);
    const ref = step("cpu", config, batch);
    const got = step("native", config, batch);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
    expect(got.grads.length).toBe(ref.grads.length);
    expect(ref.grads.length).toBeGreaterThan(50);
    // A gradient that vanishes mathematically is rounding noise on both backends: the last stack's head
    // bias (a per-channel constant does not change the spatial softmax of the heatmap loss). Errors are
    // therefore measured against at least 1e-3 of the step's largest gradient.
    const floor = 1e-3 * Math.max(...ref.grads.map(maxAbs));
    ref.grads.forEach((g, i) => {
      expect(got.grads[i].length, ref.names[i]).toBe(g.length);
      expect(relErr(got.grads[i], g, floor), `gradient of ${ref.names[i]}`).toBeLessThan(1e-4);
    });
    for (const name of Object.keys(ref.stats)) expect(relErr(got.stats[name], ref.stats[name]), name).toBeLessThan(1e-4);
  });

  it("AdamW's fused native update gives the JS loop's weights and moments bit for bit", () => {
    const run = (backend: string) => {
      tf.setBackend(backend);
      const rng = new Rng(3);
      const shapes = [[3, 3, 4, 8], [8], [16, 5]];
      const vars = shapes.map((s) =>
        tf.variable(
          tf.tensor(
            Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()),
            s,
          ),
        ),
      );
      const opt = new AdamW(vars, 0.9, 0.999);
      for (let t = 0; t < 3; t++) {
        const grads: tf.NamedTensorMap = {};
        vars.forEach((v, i) => {
          if (i !== 1 || t === 0)
            grads[v.name] = tf.tensor(
              Float32Array.from({ length: v.size }, () => rng.normal()),
              v.shape,
            ); // variable 1: no gradient after step 1
        });
        opt.apply(grads, 4e-3, 1e-4);
        tf.dispose(Object.values(grads));
      }
      const out = { x: vars.map((v) => Array.from(v.dataSync())), m: Array.from(opt.m), v: Array.from(opt.v) };
      tf.dispose(vars);
      return out;
    };
    const js = run("cpu");
    const native = run("native");
    expect(native).toEqual(js);
  });
});
