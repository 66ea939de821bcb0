/**
 * Test support for the queue tests (not a test file itself): the step trainer (src/worker/
 * step-trainer.ts) and — run as a script — a worker process using it, so that tests can SIGKILL or
 * SIGTERM a real process.
 *
 *   node --import tsx test/worker.fixture.ts      (env: DATABASE_URL, WORKER_ID, LEASE_MS, HEARTBEAT_MS,
 *                                                 MS_PER_STEP, TOTAL_STEPS, CHECKPOINT_EVERY, MAX_RUNS,
 *                                                 BLOCK_MS, STALL_MS)
 */
import { pathToFileURL } from "node:url";
import { connectDatabase } from "@lml/db";
import { runWorker } from "../src/worker/loop";
import { stepTrainer } from "../src/worker/step-trainer";

export { expectedAcc, stepTrainer, type StepTrainerOptions } from "../src/worker/step-trainer";

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
