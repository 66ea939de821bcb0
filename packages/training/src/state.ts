/**
 * A run's state as checkpoint bytes (checkpoint.ts's format): every network's variables by name
 * (model/…, net/…), the AdamW moments, the RNG and the data cursor, plus a fingerprint of the
 * configuration, so that a run resumes exactly where it stopped and never from another experiment's
 * checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError, regimeTraits, type RunConfig } from "@lml/core";
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

export interface CheckpointMeta extends Cursor {
  version: 1;
  /** What must match for a resume to be the same experiment (epochs and eval may change). */
  fingerprint: string;
  /** The whole parsed config, so that a checkpoint alone rebuilds its nets (`lml predict --checkpoint`); absent in older ones. */
  config?: RunConfig;
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
/** `model.stem` (issue 14's recipe): "pooled" is the stem every earlier checkpoint has. */
const LATER_MODEL_DEFAULTS: Record<string, unknown> = { stem: "pooled" };

const withoutLater = (
  section: Record<string, unknown>,
  later: Record<string, unknown>,
  also: (k: string, v: unknown) => boolean = () => false,
) => Object.fromEntries(Object.entries(section).filter(([k, v]) => !(k in later && later[k] === v) && !also(k, v)));

/**
 * The width of the label-transfer MLP the run trains — `train.transferHidden` as resolved (left out, it
 * is `eval.mlpHidden`) — or undefined when it trains none (other regimes, the U-Net variant).
 */
function trainedTransferWidth(config: RunConfig): number | undefined {
  return regimeTraits(config.regime).needsTransferNet && config.train.labelTransfer === "mlp" ? config.train.transferHidden : undefined;
}

/**
 * What must match for a resume to be the same experiment: everything but `train.epochs` and `eval`.
 * `train.transferHidden` is the RESOLVED width of the label-transfer MLP the run trains, and only when
 * it trains one: a width that changed with `eval.mlpHidden` is another network (refused, naming the
 * field), while eval settings — `eval.mlpHidden` included, where the width is given or unused — may
 * change. Checkpoints written before the width was in the fingerprint are matched by their tensors'
 * width (`fingerprintDifferences`).
 */
export function fingerprint(config: RunConfig): string {
  const { epochs: _epochs, ...rest } = config.train;
  const width = trainedTransferWidth(config);
  const train = {
    ...withoutLater(rest, LATER_TRAIN_DEFAULTS, (k) => k === "transferHidden"),
    ...(width === undefined ? {} : { transferHidden: width }),
  };
  // The validation split changes what a run trains on only for a real dataset (carved from its train
  // split); generated validation faces are drawn beside the train split, which stays the same.
  const data = withoutLater(config.data, LATER_DATA_DEFAULTS, (k) => k === "validation" && config.data.real.source !== "300w");
  const model = withoutLater(config.model, LATER_MODEL_DEFAULTS);
  return JSON.stringify({ regime: config.regime, seed: config.seed, model, data, train });
}

/**
 * The fields in which a checkpoint's stored fingerprint differs from `config`'s, as
 * "train.lr: 0.004 in the checkpoint, 0.5 in this configuration" ([] = the same experiment). Compared
 * as values, not strings (key order is not meaning). `storedWidth` is the width of the checkpoint's
 * label-transfer MLP tensors: fingerprints written before issue 14 left `train.transferHidden` out while
 * it followed `eval.mlpHidden`, so for them the tensors say what the width was; and they kept a width
 * given for a run without an MLP, which means nothing.
 */
export function fingerprintDifferences(stored: string, config: RunConfig, storedWidth?: number): string[] {
  let was: Record<string, unknown>;
  try {
    was = JSON.parse(stored) as Record<string, unknown>;
  } catch {
    return ["(unreadable fingerprint)"];
  }
  const now = JSON.parse(fingerprint(config)) as Record<string, unknown>;
  const wasTrain = { ...(was.train as Record<string, unknown> | undefined) };
  const width = trainedTransferWidth(config);
  if (width === undefined) delete wasTrain.transferHidden;
  else if (!("transferHidden" in wasTrain) && storedWidth !== undefined) wasTrain.transferHidden = storedWidth;
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));
  const walk = (a: unknown, b: unknown, path: string) => {
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (isObj(a) && isObj(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      const note =
        path === "train.transferHidden" && typeof a === "number"
          ? ` (the label-transfer MLP's width; left out, it is eval.mlpHidden: give train.transferHidden: ${a} to resume)`
          : "";
      out.push(`${path}: ${show(a)} in the checkpoint, ${show(b)} in this configuration${note}`);
    }
  };
  walk({ ...was, train: wasTrain }, now, "");
  return out;
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
  const meta: CheckpointMeta = { version: 1, fingerprint: fingerprint(config), ...cursor, rng: cursor.rng, config };
  return encodeCheckpoint({ meta: { ...meta, adamT: opt.t }, tensors });
}

export function loadState(config: RunConfig, nets: Nets, opt: AdamW, bytes: Uint8Array): Cursor {
  const { meta, tensors } = decodeCheckpoint<CheckpointMeta & { adamT: number }>(bytes);
  const refuse = (detail = "") =>
    new UsageError(
      `checkpoint: it was written by a different configuration (${detail}only train.epochs and eval may change on resume); ` +
        "remove it or train into another folder",
    );
  const differences = fingerprintDifferences(meta.fingerprint, config, tensors["net/transfer/w1"]?.shape[1]);
  if (differences.length) throw refuse(`${differences.join("; ")}; `);
  const get = (name: string, like: tf.Tensor) => {
    const t = tensors[name];
    if (!t) throw new Error(`checkpoint: missing tensor "${name}"`);
    // Same fingerprint, other shape: a network this code builds differently from the code that wrote it.
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
