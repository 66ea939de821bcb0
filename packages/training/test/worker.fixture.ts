/**
 * Test support for the queue tests (not a test file itself): a tiny deterministic step-based trainer
 * that checkpoints like the real one, and — run as a script — a worker process using it, so that tests
 * can SIGKILL or SIGTERM a real process.
 *
 *   node --import tsx test/worker.fixture.ts      (env: DATABASE_URL, WORKER_ID, LEASE_MS, HEARTBEAT_MS,
 *                                                 MS_PER_STEP, TOTAL_STEPS, CHECKPOINT_EVERY, MAX_RUNS,
 *                                                 BLOCK_MS, STALL_MS)
 */
import { pathToFileURL } from "node:url";
import { connectDatabase } from "@lml/db";
import type { EvaluationRecord } from "../src/evaluate";
import { StopRequested, type TrainFunction } from "../src/hooks";
import { runWorker } from "../src/worker/loop";

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

async function main() {
  const env = process.env;
  const db = await connectDatabase(env.DATABASE_URL, { poolMax: 2 });
  const stop = new AbortController();
  process.on("SIGTERM", () => stop.abort());
  process.on("SIGINT", () => stop.abort());
  await runWorker({
    prisma: db.prisma,
    workerId: env.WORKER_ID,
    leaseMs: Number(env.LEASE_MS ?? 2000),
    heartbeatMs: Number(env.HEARTBEAT_MS ?? 200),
    pollMs: 100,
    maxRuns: env.MAX_RUNS ? Number(env.MAX_RUNS) : undefined,
    idleExit: env.IDLE_EXIT === "1",
    stallMs: env.STALL_MS ? Number(env.STALL_MS) : undefined,
    checkpointDir: env.LML_CHECKPOINT_DIR,
    stop: stop.signal,
    train: stepTrainer({
      totalSteps: Number(env.TOTAL_STEPS ?? 40),
      msPerStep: Number(env.MS_PER_STEP ?? 50),
      checkpointEvery: Number(env.CHECKPOINT_EVERY ?? 5),
      blockMs: Number(env.BLOCK_MS ?? 0),
    }),
  });
  await db.close();
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`worker fixture: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
