/**
 * A stand-in for `train()` with the same contract, deterministic and fast, for the queue's tests and
 * `lml bench chaos`: it resumes from the stored checkpoint, reports progress and a "loss" point per
 * step, checkpoints every `checkpointEvery` steps, and on shouldStop checkpoints and throws
 * StopRequested — and its evaluation records what happened, so that a run trained across crashes,
 * stops and take-overs can be checked for lost or repeated steps (`expectedAcc`).
 */
import type { EvaluationRecord } from "../evaluate";
import { StopRequested, type TrainFunction } from "../hooks";

export interface StepTrainerOptions {
  totalSteps: number;
  msPerStep: number;
  checkpointEvery: number;
  /** Blocks the thread this long before the first step, as rendering a data set does (synchronous). */
  blockMs?: number;
}

interface State {
  step: number;
  /** Running sum of step·seed: ends at the same value however often the run was interrupted. */
  acc: number;
}

const encode = (s: State) => new TextEncoder().encode(JSON.stringify(s));
const decode = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as State;

/**
 * Like train(): resumes from the stored checkpoint, reports progress and a "loss" point per step,
 * checkpoints every `checkpointEvery` steps, and on shouldStop checkpoints and throws StopRequested.
 * Its evaluation records what happened: nme = the final accumulator, count = steps this attempt ran,
 * perLandmark = [the step it resumed from] (perImage stays empty: the repository wants one entry per image).
 */
export function stepTrainer(options: StepTrainerOptions): TrainFunction {
  return async (config, hooks) => {
    const started = Date.now();
    const stored = await hooks.checkpoint?.load();
    const state: State = stored ? decode(stored) : { step: 0, acc: 0 };
    const resumedFrom = state.step;
    for (const until = Date.now() + (options.blockMs ?? 0); Date.now() < until;);
    const total = options.totalSteps;
    while (state.step < total) {
      await new Promise((r) => setTimeout(r, options.msPerStep));
      state.step++;
      state.acc += state.step * config.seed;
      hooks.onProgress?.({ step: state.step, totalSteps: total, epoch: state.step / total, loss: 1 / state.step, imagesPerSec: 1 });
      hooks.onMetric?.([{ name: "loss", step: state.step, value: 1 / state.step }]);
      const stop = await hooks.shouldStop?.();
      if (stop || state.step % options.checkpointEvery === 0) await hooks.checkpoint?.save(encode(state), state.step);
      if (stop && state.step < total) throw new StopRequested(state.step);
    }
    const evaluation = (testSet: "common" | "challenging"): EvaluationRecord => ({
      testSet,
      protocol: "dense",
      norm: "inter-ocular",
      nme: state.acc,
      auc8: 0.5,
      fr8: 0.1,
      auc10: 0.6,
      fr10: 0.05,
      count: total - resumedFrom,
      perLandmark: [resumedFrom],
      perImage: [],
      cedX: [0, 10],
      cedY: [0, 1],
    });
    return {
      backend: "fake",
      steps: total,
      evaluations: [evaluation("common"), evaluation("challenging")],
      seconds: (Date.now() - started) / 1000,
      // Like train()'s sample strips (no step: the worker stamps the run's final step).
      artifacts: [
        { kind: "samples", name: "samples-common-fake.png", mime: "image/png", bytes: Uint8Array.of(137, 80, 78, 71, config.seed) },
      ],
    };
  };
}

/** Sum of step·seed over 1..total: the accumulator a correctly resumed run ends with. */
export function expectedAcc(totalSteps: number, seed: number): number {
  return (seed * totalSteps * (totalSteps + 1)) / 2;
}
