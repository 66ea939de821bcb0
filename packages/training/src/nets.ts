/**
 * The networks of one run: the HourglassNet, plus the extra nets its regime trains (core's regime
 * traits say which), each initialised from its own seed derived from the run's.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { IBUG68, ibugSubset, modelPoints, regimeTraits, type RunConfig } from "@lml/core";
import { DomainDiscriminator } from "./adaptation/discriminator";
import { LabelTransferMLP, LabelTransferUNet, type LabelTransfer } from "./adaptation/transfer";
import { synth } from "./data";
import { createHourglass, type Hourglass } from "./model";

export interface Nets {
  model: Hourglass;
  /** Label-transfer head (regimes that need one): an MLP or a U-Net, per `train.labelTransfer`. */
  transfer?: LabelTransfer;
  /** DANN domain discriminator (regimes that need one). */
  discriminator?: DomainDiscriminator;
  /** For each iBug68 point, its own nearest model point (identity for 68-point models): `nearestSubsetFor`. */
  subset: Int32Array;
  /** Every trainable variable, in a fixed order (the optimiser state and checkpoints follow it). */
  variables: tf.Variable[];
}

/**
 * The run's networks, freshly initialised from `config.seed` (the model), seed + 1 (the label-transfer
 * net) and seed + 2 (the discriminator). `subset` = for each iBug68 point its nearest model point
 * (`nearestSubsetFor`).
 */
export function buildNets(config: RunConfig, subset: Int32Array): Nets {
  const points = modelPoints(config.regime, config.data.scheme);
  const traits = regimeTraits(config.regime);
  const t = config.train;
  const model = createHourglass({ ...config.model, landmarks: points }, config.seed);
  const transfer = !traits.needsTransferNet
    ? undefined
    : t.labelTransfer === "unet"
      ? new LabelTransferUNet(points, subset, t.unetChannels, config.seed + 1)
      : new LabelTransferMLP(points, subset, t.transferHidden, config.seed + 1);
  const discriminator = traits.needsDiscriminator
    ? new DomainDiscriminator(config.model.channels, t.discHidden, config.seed + 2)
    : undefined;
  const variables = [...model.trainableVariables, ...(transfer?.variables ?? []), ...(discriminator?.variables ?? [])];
  return { model, transfer, discriminator, subset, variables };
}

/**
 * The run's one iBug68 → model point mapping: the nearest-subset protocol selects it, and the
 * label-transfer nets (`buildNets`) and the test-time MLP (evaluate.ts) start from it. The identity for
 * 68-point models; else core's `ibugSubset` on the templates of the face model the run's data comes from
 * (`data.faceModel`: SFM and procedural dense schemes order their points differently), whose open mouth
 * gives every iBug point its own dense point (checked: a UsageError names any that share one). The
 * procedural model's committed tables (packages/synth/tables) are this mapping, reviewed; synth's test
 * keeps them equal.
 */
export async function nearestSubsetFor(points: number, faceModel: RunConfig["data"]["faceModel"]): Promise<Int32Array> {
  if (points === 68) return Int32Array.from({ length: 68 }, (_, i) => i);
  const { getScheme } = await synth();
  return ibugSubset(getScheme(points, faceModel), getScheme(68, faceModel));
}

/**
 * The mirror permutations of a run's points (a horizontal flip renumbers each point to its mirror
 * twin): `mirror` for the model's own points (its dense scheme, from the run's face model, or iBug68),
 * `mirror68` for 68-point outputs (labels, the label-transfer head). Augmentation and flip-test use them.
 */
export async function mirrorsFor(points: number, faceModel: RunConfig["data"]["faceModel"]): Promise<Mirrors> {
  if (points === 68) return { mirror: IBUG68.mirror, mirror68: IBUG68.mirror };
  const { getScheme } = await synth();
  return { mirror: getScheme(points, faceModel).mirror, mirror68: IBUG68.mirror };
}
export interface Mirrors {
  mirror: Int32Array;
  mirror68: Int32Array;
}

export function disposeNets(nets: Nets): void {
  nets.model.dispose();
  nets.transfer?.dispose();
  nets.discriminator?.dispose();
}
