/**
 * THE training loop. One function, `train(config, hooks)`, readable top to bottom:
 *
 *   1. backend, data splits, networks (HourglassNet + the regime's extra nets), optimiser, RNG
 *   2. resume from the hooks' checkpoint when there is one
 *   3. for each epoch, for each batch: augment → forward → regime loss → backward → AdamW step
 *      (NaN/Inf loss = an error naming the step; `shouldStop` = checkpoint, then StopRequested)
 *   4. checkpoint every epoch; evaluate every `eval.everyEpochs`
 *   5. final evaluation on every (test or validation set, protocol, norm), PNG strips of sample
 *      predictions, and the fitted test-time MLP (kept for `lml predict`)
 *
 * Regimes (RunConfig.regime; core's regime traits say which data and nets each uses), i.e. what one
 * step's loss is:
 * - synthetic-only:            landmark loss on synthetic dense points.
 * - supervised-real:           landmark loss on real 68-point labels (a 68-point model).
 * - syn-real-label-adaptation: synthetic landmark loss + labelWeight · L1(transfer(dense(real)), real 68)
 *                              − dalnWeight · DALN discrepancy (task head as critic, via gradient reversal).
 * - uda-discriminator:         synthetic landmark loss + discWeight · DANN domain loss (via gradient
 *                              reversal; real labels never used).
 * Source and real images of a step go through the network as one batch, so batch-norm sees both domains
 * (as in the DANN and DALN reference implementations).
 *
 * Where the rest lives: the networks in model.ts (the diagram), nets.ts (which nets a regime trains) and
 * adaptation/ (gradient reversal and DALN, the label-transfer nets, the discriminator); the losses in
 * losses.ts; AdamW and the lr schedule in optim.ts; checkpoint state in state.ts; data streams and
 * augmentation in data.ts; the evaluation protocols in evaluate.ts. Every knob is a RunConfig field
 * (packages/core/src/run-config.ts) with the study's value as its default.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng, TEST_SETS, TEST_SET_INFO, modelPoints, regimeTraits, streamsRealImages, type EvalSet, type RunConfig } from "@lml/core";
import { dalnBlock, dalnDiscrepancy, gradReverse, rampLambda } from "./adaptation/daln";
import { initBackend } from "./backend/select";
import {
  Stream,
  augmentBatch,
  coordTensor,
  epochBatches,
  imageTensor,
  openReal,
  openSynthetic,
  openValidation,
  shuffleSeed,
  stepsPerEpoch,
  type BatchSource,
  type RealSplit,
} from "./data";
import { type EvaluationOutcome, EvaluationStopped, evaluateModel } from "./evaluate";
import { StopRequested, type TrainArtifact, type TrainHooks, type TrainResult } from "./hooks";
import { coordLoss, landmarkLoss } from "./losses";
import { buildNets, disposeNets, mirrorsFor, nearestSubsetFor, type Nets } from "./nets";
import { type AdamW, createOptimiser, learningRate } from "./optim";
import { sampleArtifacts } from "./samples";
import { type Cursor, loadState, saveState } from "./state";
import { MODEL_ARTIFACT_KIND, TEST_TIME_MLP_FILE } from "./test-time-mlp";

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
  if (!streamsRealImages(config.regime) || !input.realImages) {
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

  if (regimeTraits(config.regime).needsTransferNet) {
    if (!nets.transfer || !input.realCoords68) throw new Error(`${config.regime} needs a transfer net and real labels`);
    // Real 68-point labels reach the backbone through the label-transfer network.
    const last = heatmaps[heatmaps.length - 1];
    const real = tf.slice(last, [bs, 0, 0, 0], [br, -1, -1, -1]);
    const label = coordLoss(nets.transfer.predict(real), input.realCoords68, last.shape[1]);
    // DALN: the task head, fed through the reversal layer, is the critic.
    const w = dalnDiscrepancy(model.head(fs), model.head(ft), dalnBlock(step, last.shape[3], t.dalnBlock));
    parts.label = label;
    parts.daln = w;
    total = tf.add(total, tf.sub(tf.mul(label, t.labelWeight), tf.mul(w, t.dalnWeight))) as tf.Scalar;
  } else {
    // DANN: a separate discriminator, behind the same reversal layer.
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
// train()
// ---------------------------------------------------------------------------------------------------

/**
 * The real test sets (core's TEST_SETS of the real domain), opened one after the other — a dataset
 * without a challenging split has none (no evaluation, "no data" in the tables) — then the real
 * validation set.
 */
async function openRealTests(config: RunConfig, realVal: BatchSource | null): Promise<Array<{ testSet: EvalSet; source: BatchSource }>> {
  const out: Array<{ testSet: EvalSet; source: BatchSource }> = [];
  for (const testSet of TEST_SETS.filter((t) => TEST_SET_INFO[t].domain === "real")) {
    const source = await openReal(config, testSet as RealSplit);
    if (source) out.push({ testSet, source });
  }
  if (realVal) out.push({ testSet: "real-val", source: realVal });
  return out;
}

/** Trains one parsed RunConfig (parsed once where it enters, with core's `parseRunConfig`) and evaluates it. */
export async function train(config: RunConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const started = performance.now();
  // CPU seconds of this process since train() began (every thread: the native kernels' pool too), so
  // curves can be read against CPU time, the budget on a shared CPU machine.
  const cpu0 = process.cpuUsage();
  const cpuSeconds = () => {
    const u = process.cpuUsage(cpu0);
    return (u.user + u.system) / 1e6;
  };
  const { model: mc, train: tc } = config;
  const traits = regimeTraits(config.regime);
  const side = mc.inputSize;
  const backend = await initBackend();

  // 1. Data. The labelled split drives epochs; adaptation regimes also stream real train images.
  const points = modelPoints(config.regime, config.data.scheme);
  const realTrain = await openReal(config, "train");
  const labelled = traits.trainsOn === "real" ? realTrain : await openSynthetic(config, "train");
  // Real labels and the synthetic faces' landmarks68 are both in iBug68 order.
  const mirrors = await mirrorsFor(points, config.data.faceModel);
  const { mirror, mirror68 } = mirrors;
  const perEpoch = stepsPerEpoch(labelled.length, tc.batchSize);
  const totalSteps = perEpoch * tc.epochs;

  // 2. Networks, optimiser, RNG; then resume.
  const nets = buildNets(config, await nearestSubsetFor(points, config.data.faceModel));
  const opt = createOptimiser(config, nets.variables);
  let cursor: Cursor = { step: 0, epoch: 0, batchInEpoch: 0, realEpoch: 0, realBatch: 0, rng: (config.seed * 2654435761) >>> 0 };
  const saved = await hooks.checkpoint?.load();
  if (saved) cursor = loadState(config, nets, opt, saved);
  const rng = new Rng(cursor.rng);
  const real = streamsRealImages(config.regime)
    ? new Stream(realTrain, tc.batchSize, config.seed, 1, cursor.realEpoch, cursor.realBatch)
    : null;

  // Validation sets (data.validation): evaluated with the test sets, so selection and tuning can use them alone.
  const validation = await openValidation(config);
  const evaluateNow = async (samples = 0, exportMlp?: { step: number }): Promise<EvaluationOutcome> =>
    evaluateModel({
      model: nets.model,
      syntheticTest: await openSynthetic(config, "test"),
      syntheticVal: validation.synthetic,
      realTrain,
      realTests: await openRealTests(config, validation.real),
      subset: nets.subset,
      transfer: nets.transfer,
      ibugModel: traits.predicts === "ibug68",
      side,
      channels: mc.inputChannels,
      batchSize: config.eval.batchSize,
      mlp: { epochs: config.eval.mlpEpochs, hidden: config.eval.mlpHidden, seed: config.seed + 3 },
      samples,
      exportMlp,
      shouldStop: hooks.shouldStop,
      flip: config.eval.flipTest ? mirrors : undefined,
    }).catch((err: unknown) => {
      // Stopped during an evaluation (a cancel, a signal): the weights were checkpointed just before it,
      // so a resumed run evaluates again.
      throw err instanceof EvaluationStopped ? new StopRequested(cursor.step) : err;
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
        const realBatch = real ? augmentBatch(await real.next(), side, mc.inputChannels, mirror68, mirror68, tc.augment, rng) : null;
        const stepInput: StepInput = {
          images: imageTensor(batch, side, mc.inputChannels),
          coords: coordTensor(batch.landmarks, batch.size, side),
          realImages: realBatch ? imageTensor(realBatch, side, mc.inputChannels) : undefined,
          realCoords68: realBatch && traits.usesRealLabels ? coordTensor(realBatch.landmarks68, realBatch.size, side) : undefined,
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
            { name: "train/cpu_seconds", step: cursor.step, epoch: cursor.epoch + 1, value: cpuSeconds() },
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
          recs.map((r) => ({
            name: `eval/${r.testSet}/${r.protocol}/${r.norm}/nme`,
            step: cursor.step,
            epoch: cursor.epoch,
            value: r.nme,
          })),
        );
      }
    }

    // 5. Final evaluation.
    // The fitted test-time MLP is kept with the run (lml predict applies the very network scored here).
    const { records: evaluations, samples, testTimeMlp } = await evaluateNow(config.eval.sampleImages, { step: cursor.step });
    await hooks.onMetric?.(
      evaluations.map((r) => ({
        name: `eval/${r.testSet}/${r.protocol}/${r.norm}/nme`,
        step: cursor.step,
        epoch: cursor.epoch,
        value: r.nme,
      })),
    );
    const artifacts: TrainArtifact[] = await sampleArtifacts(samples);
    if (testTimeMlp)
      artifacts.push({ kind: MODEL_ARTIFACT_KIND, name: TEST_TIME_MLP_FILE, mime: "application/octet-stream", bytes: testTimeMlp });
    return { backend, steps: cursor.step, evaluations, seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(), artifacts };
  } finally {
    opt.dispose();
    disposeNets(nets);
  }
}
