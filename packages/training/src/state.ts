/**
 * A run's state as checkpoint bytes (checkpoint.ts's format): every network's variables by name
 * (model/…, net/…), the AdamW moments, the RNG and the data cursor, plus a fingerprint of the
 * configuration, so that a run resumes exactly where it stopped and never from another experiment's
 * checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError, type RunConfig } from "@lml/core";
import { decodeCheckpoint, encodeCheckpoint, type StoredTensor } from "./checkpoint";
import type { Nets } from "./nets";
import type { AdamW } from "./optim";

/** Where a run is: what a checkpoint restores besides the weights and the optimiser. */
export interface Cursor {
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
 * Knobs added after checkpoints were first written, with the values that were hard-coded before
 * (history, not today's defaults: keep these even if a default changes). At these values they are left
 * out of the fingerprint, so a checkpoint written before the knob existed (same settings) still
 * resumes; any other value (e.g. labelTransfer "unet") makes it a different experiment.
 */
const LATER_TRAIN_DEFAULTS: Record<string, unknown> = {
  labelTransfer: "mlp",
  heatmapSigma: 1,
  lrSchedule: "cosine",
  discHidden: 64,
  unetChannels: 32,
  dalnBlock: 64,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
};
/** `data.faceModel` (issue 15): "auto" is what a config without it meant when it came. */
const LATER_DATA_DEFAULTS: Record<string, unknown> = { faceModel: "auto" };

const withoutLater = (
  section: Record<string, unknown>,
  later: Record<string, unknown>,
  also: (k: string, v: unknown) => boolean = () => false,
) => Object.fromEntries(Object.entries(section).filter(([k, v]) => !(k in later && later[k] === v) && !also(k, v)));

/**
 * What must match for a resume to be the same experiment: everything but `train.epochs` and `eval`.
 * `train.transferHidden` is left out when it equals `eval.mlpHidden`: before the knob existed the
 * label-transfer MLP was that wide, so such a run is the one an older checkpoint was written by.
 */
export function fingerprint(config: RunConfig): string {
  const { epochs: _epochs, ...rest } = config.train;
  const train = withoutLater(rest, LATER_TRAIN_DEFAULTS, (k, v) => k === "transferHidden" && v === config.eval.mlpHidden);
  const data = withoutLater(config.data, LATER_DATA_DEFAULTS);
  return JSON.stringify({ regime: config.regime, seed: config.seed, model: config.model, data, train });
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
  const refuse = (detail = "") =>
    new UsageError(
      `checkpoint: it was written by a different configuration (${detail}only train.epochs and eval may change on resume); ` +
        "remove it or train into another folder",
    );
  if (meta.fingerprint !== fingerprint(config)) throw refuse();
  const get = (name: string, like: tf.Tensor) => {
    const t = tensors[name];
    if (!t) throw new Error(`checkpoint: missing tensor "${name}"`);
    // Same fingerprint, other shape: a width that follows eval (train.transferHidden left out = eval.mlpHidden).
    if (!tf.util.arraysEqual(t.shape, like.shape))
      throw refuse(`${name} has shape [${t.shape}], this configuration builds [${like.shape}]; `);
    return tf.tensor(t.data, t.shape, t.dtype);
  };
  const modelState: tf.NamedTensorMap = {};
  for (const [name, v] of Object.entries(nets.model.getState())) modelState[name] = get(`model/${name}`, v);
  nets.model.setState(modelState);
  tf.dispose(modelState);
  for (const [name, v] of Object.entries(extraVariables(nets))) {
    const t = get(`net/${name}`, v);
    v.assign(t);
    t.dispose();
  }
  for (const [name, into] of [
    ["adam/m", opt.m],
    ["adam/v", opt.v],
  ] as const) {
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
