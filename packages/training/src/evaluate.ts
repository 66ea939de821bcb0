/**
 * Evaluation protocols. A trained model is run over the test splits and scored with @lml/core's
 * `evaluateShapes` under both normalisations, giving one `EvaluationRecord` per
 * (testSet, protocol, norm) — the fields of the Prisma `Evaluation` model.
 *
 * Protocols (how a model's output becomes points comparable with the GT):
 * - `dense`: the model's own points against the synthetic GT of the same scheme (synthetic test only;
 *   the normaliser comes from the face's GT 68 points, since dense schemes have no "pupil" point);
 * - `nearest-subset`: for each iBug68 point its own dense point, the one whose template position is
 *   closest (the run's one mapping: nets.ts `nearestSubsetFor`, core's `ibugSubset`), against the real
 *   68-point GT;
 * - `test-time-mlp`: a label-transfer MLP fitted, with the backbone frozen, on the real TRAIN split's
 *   predictions → GT 68, then applied unchanged to the test splits;
 * - `direct`: models that output 68 points themselves (supervised-real; the label-transfer head of
 *   syn-real-label-adaptation).
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  EVAL_NORMS,
  Rng,
  evaluateShapes,
  isValidationSet,
  normalisers,
  selectSubset,
  type EvalNorm,
  type EvalSet,
  type EvaluationResult,
  type Protocol,
} from "@lml/core";
import { LabelTransferMLP, type LabelTransfer } from "./adaptation/transfer";
import { softArgmax } from "./backend/ops";
import { type BatchSource, epochBatches, imageTensor } from "./data";
import type { Hourglass } from "./model";
import type { Mirrors } from "./nets";
import type { SampleSet } from "./samples";
import { encodeTestTimeMlp } from "./test-time-mlp";

export interface EvaluationRecord extends EvaluationResult {
  /** A test set, or a validation set (study.ts VALIDATION_SETS). */
  testSet: EvalSet;
  protocol: Protocol;
  norm: EvalNorm;
}

/** A model's outputs on one split, with the split's GT; all pixel coordinates, flat B·N·2. */
export interface SplitPredictions {
  count: number;
  /** Points per predicted shape (the model's scheme). */
  points: number;
  pred: Float32Array;
  /** 68-point output of a label-transfer head, when the model has one. */
  direct?: Float32Array;
  /** GT of the split's own scheme (dense for synthetic, 68 for real). */
  gt: Float32Array;
  gt68: Float32Array;
  /** The first `keepImages` images (HWC, in split order), for sample strips. */
  images?: Float32Array;
}

/**
 * Runs the model (inference mode: batch-norm running statistics) over every image of `source`, in
 * order. `transfer`, when given, maps the dense prediction to 68 points (`direct`). `keepImages` keeps
 * the split's first images (sample strips) so the split is not read a second time.
 */
/**
 * Evaluation runs for tens of seconds to minutes of synchronous tensor work: yielding a macrotask
 * between batches and epochs lets the worker's lease heartbeat and signal handlers run (awaiting a
 * resolved promise alone would not).
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Thrown when `shouldStop` (a cancel, a signal) asks an evaluation to stop; train() makes it StopRequested. */
export class EvaluationStopped extends Error {
  constructor() {
    super("evaluation stopped on request");
    this.name = "EvaluationStopped";
  }
}

/** Polled between batches and MLP epochs: true stops the evaluation (EvaluationStopped). */
export type ShouldStop = () => boolean | Promise<boolean>;

async function yieldOrStop(shouldStop?: ShouldStop): Promise<void> {
  await yieldToEventLoop();
  if (await shouldStop?.()) throw new EvaluationStopped();
}

export async function predictSplit(
  model: Hourglass,
  source: BatchSource,
  opts: {
    side: number;
    channels: number;
    batchSize: number;
    transfer?: LabelTransfer;
    keepImages?: number;
    shouldStop?: ShouldStop;
    /** Flip-test (eval.flipTest): also predict the mirrored image and average the two. */
    flip?: Mirrors;
  },
): Promise<SplitPredictions> {
  const k = model.config.landmarks;
  const preds: Float32Array[] = [];
  const directs: Float32Array[] = [];
  const gts: Float32Array[] = [];
  const gts68: Float32Array[] = [];
  const kept: Float32Array[] = [];
  const plane = opts.side * opts.side * opts.channels;
  let count = 0;
  for await (const batch of epochBatches(source, opts.batchSize, 0, 0, false)) {
    const outs = tf.tidy(() => {
      const points = (x: tf.Tensor4D) => {
        const out = model.forward(x, false);
        const last = out.heatmaps[out.heatmaps.length - 1];
        const px = tf.mul(softArgmax(last), opts.side) as tf.Tensor3D;
        return opts.transfer ? [px, tf.mul(opts.transfer.predict(last), opts.side) as tf.Tensor3D] : [px];
      };
      const x = imageTensor(batch, opts.side, opts.channels);
      const plain = points(x);
      if (!opts.flip) return plain;
      // The mirrored image's points, mirrored back (x → side − x, each point from its mirror twin),
      // averaged with the plain prediction.
      const { mirror, mirror68 } = opts.flip;
      return points(tf.reverse(x, 2)).map((f, i) => {
        const back = tf.gather(f, i === 0 ? mirror : mirror68, 1);
        const [fx, fy] = tf.split(back, 2, 2);
        return tf.div(tf.add(plain[i], tf.concat([tf.sub(opts.side, fx), fy], 2)), 2) as tf.Tensor3D;
      });
    });
    preds.push(Float32Array.from(outs[0].dataSync()));
    if (outs[1]) directs.push(Float32Array.from(outs[1].dataSync()));
    tf.dispose(outs);
    gts.push(batch.landmarks);
    gts68.push(batch.landmarks68);
    await yieldOrStop(opts.shouldStop);
    const keep = Math.min(batch.size, (opts.keepImages ?? 0) - count);
    if (keep > 0) kept.push(batch.images.slice(0, keep * plane));
    count += batch.size;
  }
  return {
    count,
    points: k,
    pred: concat(preds),
    direct: opts.transfer ? concat(directs) : undefined,
    gt: concat(gts),
    gt68: concat(gts68),
    images: opts.keepImages ? concat(kept) : undefined,
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Scores `pred` against `gt` (both B·points·2 pixels) under both normalisations, the normalisers always
 * computed from the faces' GT 68 points (`gt68`) so dense and 68-point protocols share one yardstick.
 */
export function scoreShapes(
  testSet: EvalSet,
  protocol: Protocol,
  pred: Float32Array,
  gt: Float32Array,
  gt68: Float32Array,
  points: number,
): EvaluationRecord[] {
  return EVAL_NORMS.map((norm) => {
    const perImage = normalisers(gt68, norm);
    const r = evaluateShapes(pred, gt, { norm: { name: norm, perImage }, points });
    return { testSet, protocol, norm, ...r };
  });
}

export interface MlpFitOptions {
  side: number;
  epochs: number;
  hidden: number;
  seed: number;
  batchSize?: number;
  lr?: number;
  shouldStop?: ShouldStop;
}

/**
 * The test-time label-adaptation MLP: fitted on a training split's predicted points (frozen model)
 * → its GT 68 points, with Adam on the mean L1 error (robust to the few faces the model gets badly
 * wrong). Starts at the nearest-subset mapping (see LabelTransferMLP), so it can only learn to improve on it.
 */
export async function fitTestTimeMlp(train: SplitPredictions, subset: Int32Array, opts: MlpFitOptions): Promise<LabelTransferMLP> {
  const mlp = new LabelTransferMLP(train.points, subset, opts.hidden, opts.seed, "test-time-mlp");
  const x = tf.div(tf.tensor3d(train.pred, [train.count, train.points, 2]), opts.side) as tf.Tensor3D;
  const y = tf.div(tf.tensor3d(train.gt68, [train.count, 68, 2]), opts.side) as tf.Tensor3D;
  const optimizer = tf.train.adam(opts.lr ?? 1e-3);
  const bs = Math.min(opts.batchSize ?? 64, train.count);
  const rng = new Rng(opts.seed ^ 0x5eed);
  const order = Array.from({ length: train.count }, (_, i) => i);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += bs) {
      const idx = tf.tensor1d(order.slice(start, start + bs), "int32");
      optimizer.minimize(() => tf.mean(tf.abs(tf.sub(mlp.apply(tf.gather(x, idx)), tf.gather(y, idx)))) as tf.Scalar, false, mlp.variables);
      idx.dispose();
    }
    await yieldOrStop(opts.shouldStop);
  }
  optimizer.dispose();
  x.dispose();
  y.dispose();
  return mlp;
}

/** Applies a label-transfer MLP to flat pixel shapes: B·N·2 → B·68·2 pixels. */
export function applyMlp(mlp: LabelTransferMLP, pred: Float32Array, points: number, side: number): Float32Array {
  return tf.tidy(() => {
    const b = pred.length / (2 * points);
    const coords = tf.div(tf.tensor3d(pred, [b, points, 2]), side) as tf.Tensor3D;
    return Float32Array.from(tf.mul(mlp.apply(coords), side).dataSync());
  });
}

export interface EvaluationInputs {
  model: Hourglass;
  /** The synthetic test split (dense GT); null for 68-point models' runs without one. */
  syntheticTest: BatchSource | null;
  /** The synthetic validation set, scored like the synthetic test as "synthetic-val" (none when null). */
  syntheticVal?: BatchSource | null;
  realTrain: BatchSource;
  /** The real test sets, and the real validation set ("real-val"). */
  realTests: { testSet: EvalSet; source: BatchSource }[];
  /** For each iBug68 point, its nearest dense point (identity for 68-point models). */
  subset: Int32Array;
  /** The label-transfer head (MLP or U-Net) of syn-real-label-adaptation, when the run has one. */
  transfer?: LabelTransfer;
  /** The model was trained on iBug68 labels (supervised-real), so its points are iBug68 points. */
  ibugModel: boolean;
  side: number;
  channels: number;
  batchSize: number;
  mlp: { epochs: number; hidden: number; seed: number };
  /** Images per test set to keep, with their GT and the table protocol's prediction, as sample strips (0: none). */
  samples?: number;
  /** Polled between batches: true stops the evaluation with EvaluationStopped (a cancel during it). */
  shouldStop?: ShouldStop;
  /** Return the fitted test-time MLP (encodeTestTimeMlp) for the weights of this optimiser step. */
  exportMlp?: { step: number };
  /** Flip-test (eval.flipTest): every split predicted as the mean of the image's and its mirror's points. */
  flip?: Mirrors;
}

export interface EvaluationOutcome {
  records: EvaluationRecord[];
  /** One per test set when `samples` > 0: synthetic shows the model's own points, real sets the 68-point protocol. */
  samples: SampleSet[];
  /** The test-time MLP as stored bytes, when `exportMlp` asked for it. */
  testTimeMlp?: Uint8Array;
}

/** The first `n` shapes of flat B·points·2 shapes. */
function firstShapes(shapes: Float32Array, points: number, n: number): Float32Array {
  return shapes.slice(0, n * points * 2);
}

/**
 * Every protocol that applies to the model:
 * dense models (every regime but supervised-real, whatever the scheme's size): synthetic-test/dense,
 * real/nearest-subset, real/test-time-mlp, and with a label-transfer head also real/direct; 68-point models: synthetic-test/direct (against the synthetic
 * faces' iBug-compatible points), real/direct, real/nearest-subset (the identity mapping, so the
 * supervised model has a row in the nearest-subset table as in the study) and real/test-time-mlp.
 *
 * Sample strips (`samples` > 0) show the first images of each test set: synthetic with the model's own
 * points (dense, or direct for 68-point models); real sets with `direct` for the 68-point model and
 * `test-time-mlp` for dense models — the protocol every dense regime has, so strips of one grid compare
 * regime to regime (the label-transfer head's `direct` is in the tables, not the strips).
 */
export async function evaluateModel(inp: EvaluationInputs): Promise<EvaluationOutcome> {
  const { model, side } = inp;
  const k = model.config.landmarks;
  const is68 = inp.ibugModel;
  const n = inp.samples ?? 0;
  const pOpts = {
    side,
    channels: inp.channels,
    batchSize: inp.batchSize,
    transfer: inp.transfer,
    shouldStop: inp.shouldStop,
    flip: inp.flip,
  };
  const testOpts = { ...pOpts, keepImages: n };
  const out: EvaluationRecord[] = [];
  const samples: SampleSet[] = [];
  const sample = (
    testSet: string,
    protocol: Protocol,
    p: SplitPredictions,
    pred: Float32Array,
    predPoints: number,
    gt: Float32Array,
    gtPoints: number,
  ) => {
    if (isValidationSet(testSet)) return; // strips show test sets only
    const count = Math.min(n, p.count);
    if (count < 1 || !p.images) return;
    samples.push({
      testSet,
      protocol,
      count,
      side,
      channels: inp.channels,
      images: p.images,
      gt: firstShapes(gt, gtPoints, count),
      gtPoints,
      pred: firstShapes(pred, predPoints, count),
      predPoints,
    });
  };
  const synthetic: { testSet: EvalSet; source: BatchSource }[] = [
    ...(inp.syntheticTest ? [{ testSet: "synthetic-test" as const, source: inp.syntheticTest }] : []),
    ...(inp.syntheticVal ? [{ testSet: "synthetic-val" as const, source: inp.syntheticVal }] : []),
  ];
  for (const { testSet, source } of synthetic) {
    const p = await predictSplit(model, source, isValidationSet(testSet) ? pOpts : testOpts);
    if (is68) {
      out.push(...scoreShapes(testSet, "direct", p.pred, p.gt68, p.gt68, 68));
      sample(testSet, "direct", p, p.pred, 68, p.gt68, 68);
    } else {
      out.push(...scoreShapes(testSet, "dense", p.pred, p.gt, p.gt68, k));
      sample(testSet, "dense", p, p.pred, k, p.gt, k);
    }
  }
  const trainPred = await predictSplit(model, inp.realTrain, pOpts);
  let testTimeMlp: Uint8Array | undefined;
  const mlp = await fitTestTimeMlp(trainPred, inp.subset, { side, ...inp.mlp, shouldStop: inp.shouldStop });
  try {
    for (const { testSet, source } of inp.realTests) {
      const p = await predictSplit(model, source, isValidationSet(testSet) ? pOpts : testOpts);
      const viaMlp = applyMlp(mlp, p.pred, k, side);
      if (is68) out.push(...scoreShapes(testSet, "direct", p.pred, p.gt, p.gt68, 68));
      else if (p.direct) out.push(...scoreShapes(testSet, "direct", p.direct, p.gt, p.gt68, 68));
      out.push(...scoreShapes(testSet, "nearest-subset", selectSubset(p.pred, k, inp.subset), p.gt, p.gt68, 68));
      out.push(...scoreShapes(testSet, "test-time-mlp", viaMlp, p.gt, p.gt68, 68));
      if (is68) sample(testSet, "direct", p, p.pred, 68, p.gt, 68);
      else sample(testSet, "test-time-mlp", p, viaMlp, 68, p.gt, 68);
    }
    if (inp.exportMlp)
      testTimeMlp = encodeTestTimeMlp(mlp, {
        inPoints: k,
        hidden: inp.mlp.hidden,
        subset: Array.from(inp.subset),
        fittedOn: inp.realTrain.name,
        count: trainPred.count,
        step: inp.exportMlp.step,
      });
  } finally {
    mlp.dispose();
  }
  return { records: out, samples, testTimeMlp };
}
