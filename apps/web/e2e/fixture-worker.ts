/**
 * Stand-in for `lml work` in the browser test when the trainer's worker is not available (or
 * E2E_WORKER=fixture): claims runs through the real queue functions and completes them with seeded
 * fixture evaluations, so that the dashboard is exercised on rows written the way a worker writes them.
 * Usage: node --import tsx e2e/fixture-worker.ts <maxRuns> [holdMs]   (DATABASE_URL set)
 * holdMs keeps each run RUNNING that long, beating with its progress, as a training run does (the live
 * test watches a page follow it).
 */
import { fixtureCurves, fixtureEvaluations } from "@lml/api/testing";
import {
  claimNextRun,
  completeRun,
  connectDatabase,
  heartbeatWorker,
  appendMetricPoints,
  registerWorker,
  renewLease,
  stopWorker,
} from "@lml/db";

const maxRuns = Number(process.argv[2] ?? "100");
const holdMs = Number(process.argv[3] ?? "0");
const db = await connectDatabase(process.env.DATABASE_URL!);
const id = `e2e-fixture-${process.pid}`;
await registerWorker(db.prisma, { id, host: "e2e", pid: process.pid, backend: "fixture" });
let done = 0;
while (done < maxRuns) {
  const run = await claimNextRun(db.prisma, id, 60_000);
  if (!run) break;
  await heartbeatWorker(db.prisma, id, run.id);
  const config = run.config as { data?: { scheme?: number } };
  const evaluations = fixtureEvaluations({ regime: run.regime, seed: run.seed, scheme: config.data?.scheme ?? 490 });
  const common = evaluations.find((e) => e.testSet === "common")!;
  const curves = fixtureCurves(run.seed, 40, common.nme);
  for (let t = 0, beats = Math.ceil(holdMs / 500); t < beats; t++) {
    await new Promise((r) => setTimeout(r, 500));
    const step = Math.round((40 * (t + 1)) / (beats + 1));
    await renewLease(db.prisma, run.id, id, 60_000, { step, totalSteps: 40, progress: step / 40 });
    await appendMetricPoints(
      db.prisma,
      run.id,
      curves.filter((p) => p.step <= step),
    );
  }
  await appendMetricPoints(db.prisma, run.id, curves);
  const r = await completeRun(db.prisma, { runId: run.id, workerId: id, attempt: run.attempt, evaluations, backend: "fixture", steps: 40 });
  if (!r.written) throw new Error(`run ${run.id} not completed: ${r.reason}`);
  done++;
}
await stopWorker(db.prisma, id);
await db.close();
process.stdout.write(`fixture worker: completed ${done} runs\n`);
