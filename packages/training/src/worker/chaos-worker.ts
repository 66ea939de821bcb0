/**
 * One worker process of `lml bench chaos` (chaos.ts starts, kills, stops and resumes them): the real
 * worker process (process.ts: signals, lease-keeping thread, retries), training with the step trainer
 * so that a run takes about a second and its results show any lost or repeated step.
 *
 *   node --import tsx src/worker/chaos-worker.ts
 *     env: DATABASE_URL, CHAOS_WORKER_ID, CHAOS_LEASE_S, CHAOS_HEARTBEAT_MS, CHAOS_TOTAL_STEPS,
 *          CHAOS_MS_PER_STEP, CHAOS_CHECKPOINT_EVERY
 */
import { runWorkerProcess } from "./process";
import { stepTrainer } from "./step-trainer";

const env = process.env;
runWorkerProcess({
  idleExit: false,
  leaseSeconds: Number(env.CHAOS_LEASE_S ?? 3),
  heartbeatMs: Number(env.CHAOS_HEARTBEAT_MS ?? 250),
  workerId: env.CHAOS_WORKER_ID,
  train: stepTrainer({
    totalSteps: Number(env.CHAOS_TOTAL_STEPS ?? 40),
    msPerStep: Number(env.CHAOS_MS_PER_STEP ?? 25),
    checkpointEvery: Number(env.CHAOS_CHECKPOINT_EVERY ?? 5),
  }),
}).catch((err: unknown) => {
  process.stderr.write(`chaos worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
