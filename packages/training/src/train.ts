/**
 * THE training loop. One function, `train(config, hooks)`, readable top to bottom:
 *
 *   1. backend, data splits, networks (HourglassNet + the regime's extra nets), optimiser, RNG
 *   2. resume from the hooks' checkpoint when there is one
 *   3. for each epoch, for each batch: augment → forward → regime loss → backward → AdamW step
 *      (NaN/Inf loss = an error naming the step; `shouldStop` = checkpoint, then StopRequested)
 *   4. checkpoint every epoch; evaluate every `eval.everyEpochs`
 *   5. final evaluation on every (test set, protocol, norm), and PNG strips of sample predictions
 *
 * Regimes (RunConfig.regime), i.e. what one step's loss is:
 * - synthetic-only:            landmark loss on synthetic dense points.
 * - supervised-real:           landmark loss on real 68-point labels (a 68-point model).
 * - syn-real-label-adaptation: synthetic landmark loss + labelWeight · L1(transfer(dense(real)), real 68)
 *                              − dalnWeight · DALN discrepancy (task head as critic, via gradient reversal).
 * - uda-discriminator:         synthetic landmark loss + discWeight · DANN domain loss (via gradient
 *                              reversal; real labels never used).
 * Source and real images of a step go through the network as one batch, so batch-norm sees both domains
 * (as in the DANN and DALN reference implementations).
 *
 * The label-transfer network is `train.labelTransfer`: an MLP on coordinates or a small U-Net on heatmaps
 * (adaptation.ts). Knobs with the study's values as defaults: `train.lrSchedule` (cosine decay from `lr`
 * to lr/10 over the run: short CPU runs gain much from the final low-lr phase), `train.heatmapSigma`
 * (Gaussian targets, σ = 1 heatmap cell), `train.discHidden` (DANN discriminator width, 64).
 * Fixed here: AdamW (β = 0.9/0.999, decoupled weight decay).
 */
import * as tf from "@tensorflow/tfjs-core";
import { IBUG68, RunConfigSchema, UsageError, nearestSubset, type RunConfig, type RunConfigInput } from "@lml/core";
import {
  DomainDiscriminator,
  LabelTransferMLP,
  LabelTransferUNet,
  Rng,
  UNET_CHANNELS,
  type LabelTransfer,
  dalnBlock,
  dalnDiscrepancy,
  gradReverse,
  rampLambda,
} from "./adaptation";
import { initBackend } from "./backend/select";
import { decodeCheckpoint, encodeCheckpoint, type StoredTensor } from "./checkpoint";
import {
  type Batch,
  type BatchSource,
  augmentBatch,
  coordTensor,
  epochBatches,
  imageTensor,
  openReal,
  openSynthetic,
  synth,
} from "./data";
import { type EvaluationOutcome, type EvaluationRecord, evaluateModel } from "./evaluate";
import { coordLoss, landmarkLoss } from "./losses";
import { createHourglass, type Hourglass } from "./model";
import { sampleArtifacts, type SampleArtifact } from "./samples";

export type { EvaluationRecord } from "./evaluate";
export type { SampleArtifact } from "./samples";

/** Test images per test set drawn into the final evaluation's sample strips. */
export const SAMPLE_IMAGES = 8;

export interface TrainHooks {
  onProgress?(p: { step: number; totalSteps: number; epoch: number; loss: number; imagesPerSec: number }): void | Promise<void>;
  onMetric?(points: Array<{ name: string; step: number; epoch?: number; value: number }>): void | Promise<void>;
  /** Opaque bytes: weights + optimiser + RNG + step (see checkpoint.ts). */
  checkpoint?: { load(): Promise<Uint8Array | null>; save(bytes: Uint8Array, step: number): Promise<void> };
  /** Checked after each step: when true the run checkpoints, then throws StopRequested. */
  shouldStop?(): boolean | Promise<boolean>;
}

/** Thrown by `train` after it saved a checkpoint because `shouldStop` asked it to. */
export class StopRequested extends Error {
  constructor(readonly step: number) {
    super(`training stopped on request after step ${step} (checkpoint saved)`);
    this.name = "StopRequested";
  }
}

export interface TrainResult {
  backend: string;
  steps: number;
  evaluations: EvaluationRecord[];
  seconds: number;
  /** PNG strips of sample predictions on the test sets (final evaluation), one per test set. */
  artifacts: SampleArtifact[];
}

// ---------------------------------------------------------------------------------------------------
// Networks and optimiser
// ---------------------------------------------------------------------------------------------------

/** The networks of one run. */
export interface Nets {
  model: Hourglass;
  /** Label-transfer head (syn-real-label-adaptation): an MLP or a U-Net, per `train.labelTransfer`. */
  transfer?: LabelTransfer;
  /** DANN domain discriminator (uda-discriminator). */
  discriminator?: DomainDiscriminator;
  /** For each iBug68 point, its nearest model point (identity for 68-point models). */
  subset: Int32Array;
  /** Every trainable variable, in a fixed order (the optimiser state and checkpoints follow it). */
  variables: tf.Variable[];
}

/** Landmarks the model predicts: the dense synthetic scheme, or 68 for the supervised-real model. */
export function modelPoints(config: RunConfig): number {
  return config.regime === "supervised-real" ? 68 : config.data.scheme;
}

/**
 * The run's networks, freshly initialised from `config.seed`. `subset` = for each iBug68 point its
 * nearest model point (`nearestSubsetFor`).
 */
export function buildNets(config: RunConfig, subset: Int32Array): Nets {
  const points = modelPoints(config);
  const model = createHourglass({ ...config.model, landmarks: points }, config.seed);
  const transfer =
    config.regime !== "syn-real-label-adaptation"
      ? undefined
      : config.train.labelTransfer === "unet"
        ? new LabelTransferUNet(points, subset, UNET_CHANNELS, config.seed + 1)
        : new LabelTransferMLP(points, subset, config.eval.mlpHidden, config.seed + 1);
  const discriminator =
    config.regime === "uda-discriminator"
      ? new DomainDiscriminator(config.model.channels, config.train.discHidden, config.seed + 2)
      : undefined;
  const variables = [...model.trainableVariables, ...(transfer?.variables ?? []), ...(discriminator?.variables ?? [])];
  return { model, transfer, discriminator, subset, variables };
}

/** iBug68 → model point mapping: the identity for 68-point models, else core's nearest subset. */
export async function nearestSubsetFor(points: number): Promise<Int32Array> {
  if (points === 68) return Int32Array.from({ length: 68 }, (_, i) => i);
  const { getScheme } = await synth();
  return nearestSubset(getScheme(points), getScheme(68));
}

export function disposeNets(nets: Nets): void {
  nets.model.dispose();
  nets.transfer?.dispose();
  nets.discriminator?.dispose();
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), run on the host: its state (moments and step
 * count) is two Float32Arrays that a checkpoint stores and restores bit for bit. Doing it with tensor
 * ops cost ~15 tiny kernels per variable (~2,700 per step for a 2-stack hourglass), 75 ms of a 380 ms
 * wasm step; one JS loop over ~10⁵ floats is a few ms. On a GPU backend it costs one gradient download
 * and one weight upload per step, small next to a step.
 */
export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  t = 0;
  private readonly offsets: number[] = [];
  constructor(
    readonly vars: tf.Variable[],
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    let total = 0;
    for (const x of vars) {
      this.offsets.push(total);
      total += x.size;
    }
    this.m = new Float32Array(total);
    this.v = new Float32Array(total);
  }

  apply(grads: tf.NamedTensorMap, lr: number, weightDecay: number): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, m, v } = this;
    const step = lr / (1 - b1 ** this.t);
    const c2 = 1 - b2 ** this.t;
    const decay = 1 - lr * weightDecay;
    this.vars.forEach((variable, i) => {
      const grad = grads[variable.name];
      const g = grad ? grad.dataSync() : null; // a variable this regime's loss does not touch: g = 0
      const x = Float32Array.from(variable.dataSync());
      const o = this.offsets[i];
      for (let k = 0; k < x.length; k++) {
        const gk = g ? g[k] : 0;
        const mk = (m[o + k] = b1 * m[o + k] + (1 - b1) * gk);
        const vk = (v[o + k] = b2 * v[o + k] + (1 - b2) * gk * gk);
        x[k] = x[k] * decay - (step * mk) / (Math.sqrt(vk / c2) + eps);
      }
      const next = tf.tensor(x, variable.shape, "float32");
      variable.assign(next);
      next.dispose();
    });
  }

  dispose(): void {}
}

/** The learning rate of `step`: `train.lrSchedule` "cosine" decays from lr to lr/10 over the run, "constant" keeps lr. */
export function learningRate(config: RunConfig, step: number, totalSteps: number): number {
  if (config.train.lrSchedule === "constant") return config.train.lr;
  const p = Math.min(1, step / Math.max(1, totalSteps));
  return config.train.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
}

// ---------------------------------------------------------------------------------------------------
// One step
// ---------------------------------------------------------------------------------------------------

/** The tensors one step consumes. */
export interface StepInput {
  /** Labelled images and their points (synthetic dense, or real 68 for supervised-real), image units. */
  images: tf.Tensor4D;
  coords: tf.Tensor3D;
  /** Real images for the adaptation regimes, and (syn-real only) their 68-point labels. */
  realImages?: tf.Tensor4D;
  realCoords68?: tf.Tensor3D;
}

export type LossParts = Record<string, tf.Scalar>;

/**
 * The regime's loss for one batch (see the module comment). `step` sets the adversarial ramp λ. Returns
 * the total and its named parts (for logging).
 */
export function regimeLoss(config: RunConfig, nets: Nets, input: StepInput, step: number): LossParts {
  const t = config.train;
  const { model } = nets;
  const adapt = config.regime === "syn-real-label-adaptation" || config.regime === "uda-discriminator";
  if (!adapt || !input.realImages) {
    const { heatmaps } = model.forward(input.images, true);
    const l = landmarkLoss(heatmaps, input.coords, t);
    return { total: l.total, heatmap: l.heatmap, coord: l.coord };
  }
  const bs = input.images.shape[0];
  const br = input.realImages.shape[0];
  const { heatmaps, features } = model.forward(tf.concat([input.images, input.realImages]), true);
  const sourceMaps = heatmaps.map((h) => tf.slice(h, [0, 0, 0, 0], [bs, -1, -1, -1]));
  const l = landmarkLoss(sourceMaps, input.coords, t);
  const parts: LossParts = { heatmap: l.heatmap, coord: l.coord };
  let total: tf.Scalar = l.total;
  const lambda = rampLambda(step, t.rampSteps);
  const reversed = gradReverse(features, lambda);
  const fs = tf.slice(reversed, [0, 0, 0, 0], [bs, -1, -1, -1]);
  const ft = tf.slice(reversed, [bs, 0, 0, 0], [br, -1, -1, -1]);

  if (config.regime === "syn-real-label-adaptation") {
    if (!nets.transfer || !input.realCoords68) throw new Error("syn-real-label-adaptation needs a transfer net and real labels");
    // Real 68-point labels reach the backbone through the label-transfer network.
    const last = heatmaps[heatmaps.length - 1];
    const real = tf.slice(last, [bs, 0, 0, 0], [br, -1, -1, -1]);
    const label = coordLoss(nets.transfer.predict(real), input.realCoords68, last.shape[1]);
    // DALN: the task head, fed through the reversal layer, is the critic.
    const w = dalnDiscrepancy(model.head(fs), model.head(ft), dalnBlock(step, last.shape[3]));
    parts.label = label;
    parts.daln = w;
    total = tf.add(total, tf.sub(tf.mul(label, t.labelWeight), tf.mul(w, t.dalnWeight))) as tf.Scalar;
  } else {
    const d = nets.discriminator!.loss(fs, ft);
    parts.domain = d;
    total = tf.add(total, tf.mul(d, t.discWeight)) as tf.Scalar;
  }
  parts.total = total;
  return parts;
}

/**
 * One optimiser step: loss, gradients of every trainable variable, NaN check, AdamW update. Returns the
 * loss and its parts as numbers (the values before the update).
 */
export function trainStep(
  config: RunConfig,
  nets: Nets,
  optimiser: AdamW,
  input: StepInput,
  step: number,
  lr: number,
): Record<string, number> {
  let parts: Record<string, number> = {};
  const { value, grads } = tf.variableGrads(() => {
    const p = regimeLoss(config, nets, input, step);
    parts = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.dataSync()[0]]));
    return p.total;
  }, nets.variables);
  const loss = value.dataSync()[0];
  value.dispose();
  if (!Number.isFinite(loss)) {
    tf.dispose(grads);
    throw new Error(`training diverged: loss is ${loss} at step ${step + 1} (parts: ${JSON.stringify(parts)})`);
  }
  optimiser.apply(grads, lr, config.train.weightDecay);
  tf.dispose(grads);
  return { ...parts, total: loss };
}

// ---------------------------------------------------------------------------------------------------
// Checkpoint state
// ---------------------------------------------------------------------------------------------------

interface Cursor {
  /** Optimiser steps taken. */
  step: number;
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  /** The real stream of the adaptation regimes: its own epoch and batch position. */
  realEpoch: number;
  realBatch: number;
  rng: number;
}

interface CheckpointMeta extends Cursor {
  version: 1;
  /** What must match for a resume to be the same experiment (epochs and eval may change). */
  fingerprint: string;
}

/**
 * Train knobs added after checkpoints were first written, with the values that were hard-coded before.
 * At these values they are left out of the fingerprint, so a checkpoint written before the knob existed
 * (same behaviour) still resumes; any other value (e.g. labelTransfer "unet") makes it a different one.
 */
const LATER_TRAIN_DEFAULTS: Record<string, unknown> = { labelTransfer: "mlp", heatmapSigma: 1, lrSchedule: "cosine", discHidden: 64 };

function fingerprint(config: RunConfig): string {
  const { epochs: _epochs, ...rest } = config.train;
  const train = Object.fromEntries(
    Object.entries(rest).filter(([k, v]) => !(k in LATER_TRAIN_DEFAULTS && LATER_TRAIN_DEFAULTS[k] === v)),
  );
  return JSON.stringify({ regime: config.regime, seed: config.seed, model: config.model, data: config.data, train });
}

function extraVariables(nets: Nets): Record<string, tf.Variable> {
  return { ...(nets.transfer?.named ?? {}), ...(nets.discriminator?.named ?? {}) };
}

function host(t: tf.Tensor): StoredTensor {
  return { dtype: t.dtype === "int32" ? "int32" : "float32", shape: t.shape, data: t.dataSync() as Float32Array };
}

export function saveState(config: RunConfig, nets: Nets, opt: AdamW, cursor: Cursor): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, t] of Object.entries(nets.model.getState())) tensors[`model/${name}`] = host(t);
  for (const [name, v] of Object.entries(extraVariables(nets))) tensors[`net/${name}`] = host(v);
  tensors["adam/m"] = { dtype: "float32", shape: [opt.m.length], data: opt.m };
  tensors["adam/v"] = { dtype: "float32", shape: [opt.v.length], data: opt.v };
  const meta: CheckpointMeta = { version: 1, fingerprint: fingerprint(config), ...cursor, rng: cursor.rng };
  return encodeCheckpoint({ meta: { ...meta, adamT: opt.t }, tensors });
}

export function loadState(config: RunConfig, nets: Nets, opt: AdamW, bytes: Uint8Array): Cursor {
  const { meta, tensors } = decodeCheckpoint<CheckpointMeta & { adamT: number }>(bytes);
  if (meta.fingerprint !== fingerprint(config))
    throw new UsageError(
      "checkpoint: it was written by a different configuration (only train.epochs and eval may change on resume); " +
        "remove it or train into another folder",
    );
  const get = (name: string) => {
    const t = tensors[name];
    if (!t) throw new Error(`checkpoint: missing tensor "${name}"`);
    return tf.tensor(t.data, t.shape, t.dtype);
  };
  const modelState: tf.NamedTensorMap = {};
  for (const name of Object.keys(nets.model.getState())) modelState[name] = get(`model/${name}`);
  nets.model.setState(modelState);
  tf.dispose(modelState);
  const assign = (v: tf.Variable, name: string) => {
    const t = get(name);
    v.assign(t);
    t.dispose();
  };
  for (const [name, v] of Object.entries(extraVariables(nets))) assign(v, `net/${name}`);
  for (const [name, into] of [["adam/m", opt.m], ["adam/v", opt.v]] as const) {
    const t = tensors[name];
    if (!t || t.data.length !== into.length) throw new Error(`checkpoint: optimiser state "${name}" missing or of another size`);
    into.set(t.data);
  }
  opt.t = meta.adamT;
  return {
    step: meta.step,
    epoch: meta.epoch,
    batchInEpoch: meta.batchInEpoch,
    realEpoch: meta.realEpoch,
    realBatch: meta.realBatch,
    rng: meta.rng,
  };
}

// ---------------------------------------------------------------------------------------------------
// Data streams
// ---------------------------------------------------------------------------------------------------

/** Shuffle seed of one epoch of one stream: a pure function of (run seed, stream, epoch). */
function shuffleSeed(seed: number, stream: number, epoch: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

/** An endless stream over a split, epoch after epoch, whose position is (epoch, batch) for checkpoints. */
class Stream {
  private it: AsyncGenerator<Batch> | null = null;
  constructor(
    private readonly source: BatchSource,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly id: number,
    public epoch: number,
    public batch: number,
  ) {}
  async next(): Promise<Batch> {
    for (let tries = 0; tries < 2; tries++) {
      if (!this.it) this.it = epochBatches(this.source, this.batchSize, shuffleSeed(this.seed, this.id, this.epoch), this.batch);
      const r = await this.it.next();
      if (!r.done) {
        this.batch += 1;
        return r.value;
      }
      this.it = null;
      this.epoch += 1;
      this.batch = 0;
    }
    throw new UsageError(`${this.source.name}: the split has no images`);
  }
}

/** Steps per epoch: whole batches of the labelled split (a split smaller than one batch is one step). */
export function stepsPerEpoch(length: number, batchSize: number): number {
  return Math.max(1, Math.floor(length / batchSize));
}

// ---------------------------------------------------------------------------------------------------
// train()
// ---------------------------------------------------------------------------------------------------

export async function train(input: RunConfig | RunConfigInput, hooks: TrainHooks = {}): Promise<TrainResult> {
  const started = performance.now();
  const parsed = RunConfigSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(`run config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const config = parsed.data;
  const { model: mc, train: tc } = config;
  const side = mc.inputSize;
  const backend = await initBackend();

  // 1. Data. The labelled split drives epochs; adaptation regimes also stream real train images.
  const points = modelPoints(config);
  const realTrain = await openReal(config, "train");
  const labelled = config.regime === "supervised-real" ? realTrain : await openSynthetic(config, "train");
  const usesReal = config.regime === "syn-real-label-adaptation" || config.regime === "uda-discriminator";
  const { getScheme } = await synth();
  // Real labels and the synthetic faces' landmarks68 are both in iBug68 order.
  const mirror68 = IBUG68.mirror;
  const mirror = points === 68 ? mirror68 : getScheme(points).mirror;
  const perEpoch = stepsPerEpoch(labelled.length, tc.batchSize);
  const totalSteps = perEpoch * tc.epochs;

  // 2. Networks, optimiser, RNG; then resume.
  const nets = buildNets(config, await nearestSubsetFor(points));
  const opt = new AdamW(nets.variables);
  let cursor: Cursor = { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: (config.seed * 2654435761) >>> 0 };
  const saved = await hooks.checkpoint?.load();
  if (saved) cursor = loadState(config, nets, opt, saved);
  const rng = new Rng(cursor.rng);
  const real = usesReal ? new Stream(realTrain, tc.batchSize, config.seed, 1, cursor.realEpoch, cursor.realBatch) : null;

  const evaluateNow = async (samples = 0): Promise<EvaluationOutcome> =>
    evaluateModel({
      model: nets.model,
      syntheticTest: await openSynthetic(config, "test"),
      realTrain,
      realTests: [
        { testSet: "common", source: await openReal(config, "common") },
        { testSet: "challenging", source: await openReal(config, "challenging") },
      ],
      subset: nets.subset,
      transfer: nets.transfer,
      ibugModel: config.regime === "supervised-real",
      side,
      channels: mc.inputChannels,
      batchSize: Math.max(tc.batchSize, 32),
      mlp: { epochs: config.eval.mlpEpochs, hidden: config.eval.mlpHidden, seed: config.seed + 3 },
      samples,
    });
  const checkpoint = async () => {
    if (!hooks.checkpoint) return;
    const bytes = saveState(config, nets, opt, { ...cursor, rng: rng.state, realEpoch: real?.epoch ?? 0, realBatch: real?.batch ?? 0 });
    await hooks.checkpoint.save(bytes, cursor.step);
  };

  try {
    // 3. The loop.
    let ips = 0;
    while (cursor.epoch < tc.epochs) {
      const epochSeed = shuffleSeed(config.seed, 0, cursor.epoch);
      for await (const raw of epochBatches(labelled, tc.batchSize, epochSeed, cursor.batchInEpoch)) {
        if (cursor.batchInEpoch >= perEpoch) break;
        const t0 = performance.now();
        const batch = augmentBatch(raw, side, mc.inputChannels, mirror, mirror68, tc.augment, rng);
        const realBatch = real
          ? augmentBatch(await real.next(), side, mc.inputChannels, mirror68, mirror68, tc.augment, rng)
          : null;
        const stepInput: StepInput = {
          images: imageTensor(batch, side, mc.inputChannels),
          coords: coordTensor(batch.landmarks, batch.size, side),
          realImages: realBatch ? imageTensor(realBatch, side, mc.inputChannels) : undefined,
          realCoords68:
            realBatch && config.regime === "syn-real-label-adaptation"
              ? coordTensor(realBatch.landmarks68, realBatch.size, side)
              : undefined,
        };
        const lr = learningRate(config, cursor.step, totalSteps);
        let parts: Record<string, number>;
        try {
          parts = trainStep(config, nets, opt, stepInput, cursor.step, lr);
        } finally {
          tf.dispose([stepInput.images, stepInput.coords, stepInput.realImages, stepInput.realCoords68].filter(Boolean) as tf.Tensor[]);
        }
        cursor.step += 1;
        cursor.batchInEpoch += 1;
        const images = batch.size + (realBatch?.size ?? 0);
        const now = images / ((performance.now() - t0) / 1000);
        ips = ips === 0 ? now : 0.9 * ips + 0.1 * now;
        await hooks.onProgress?.({ step: cursor.step, totalSteps, epoch: cursor.epoch + 1, loss: parts.total, imagesPerSec: ips });
        const logEvery = Math.max(1, Math.floor(perEpoch / 10));
        if (cursor.step % logEvery === 0 || cursor.batchInEpoch === perEpoch) {
          await hooks.onMetric?.([
            ...Object.entries(parts).map(([k, value]) => ({
              name: k === "total" ? "train/loss" : `train/loss/${k}`,
              step: cursor.step,
              epoch: cursor.epoch + 1,
              value,
            })),
            { name: "train/lr", step: cursor.step, epoch: cursor.epoch + 1, value: lr },
            { name: "train/images_per_sec", step: cursor.step, epoch: cursor.epoch + 1, value: ips },
          ]);
        }
        // A step is one long synchronous computation: yield to the event loop so timers (progress
        // redraws, the worker's lease heartbeat) and signal handlers run between steps.
        await new Promise((resolve) => setImmediate(resolve));
        if (await hooks.shouldStop?.()) {
          await checkpoint();
          throw new StopRequested(cursor.step);
        }
      }
      cursor.epoch += 1;
      cursor.batchInEpoch = 0;
      // 4. Per-epoch checkpoint and optional evaluation.
      await checkpoint();
      const every = config.eval.everyEpochs;
      if (every > 0 && cursor.epoch % every === 0 && cursor.epoch < tc.epochs) {
        const { records: recs } = await evaluateNow();
        await hooks.onMetric?.(
          recs.map((r) => ({ name: `eval/${r.testSet}/${r.protocol}/${r.norm}/nme`, step: cursor.step, epoch: cursor.epoch, value: r.nme })),
        );
      }
    }

    // 5. Final evaluation.
    const { records: evaluations, samples } = await evaluateNow(SAMPLE_IMAGES);
    await hooks.onMetric?.(
      evaluations.map((r) => ({ name: `eval/${r.testSet}/${r.protocol}/${r.norm}/nme`, step: cursor.step, epoch: cursor.epoch, value: r.nme })),
    );
    const artifacts = await sampleArtifacts(samples);
    return { backend, steps: cursor.step, evaluations, seconds: (performance.now() - started) / 1000, artifacts };
  } finally {
    opt.dispose();
    disposeNets(nets);
  }
}
