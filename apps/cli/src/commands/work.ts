/**
 * `lml work [--max-runs N] [--idle-exit]`: a queue worker. Claims the highest-priority oldest queued
 * run, trains it (progress, metric points and checkpoints go to the database), writes its results, and
 * takes the next. SIGTERM/SIGINT: finish the current step, checkpoint, give the run back to the queue,
 * exit 0 (a second Ctrl-C exits at once). Rules and deployment notes: apps/trainer/WORKERS.md.
 */
import type { Command } from "commander";

interface WorkOptions {
  maxRuns?: string;
  idleExit?: boolean;
  lease?: string;
  workerId?: string;
}

/** undefined when not given, NaN when not a positive integer. */
function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : Number.NaN;
}

export function register(program: Command): void {
  program
    .command("work")
    .description("claim queued runs and train them until stopped (SIGTERM/SIGINT gives the current run back)")
    .option("--max-runs <n>", "stop after this many runs")
    .option("--idle-exit", "exit when the queue is empty instead of waiting for work")
    .option("--lease <seconds>", "lease length: a dead worker's run is taken back this long after its last heartbeat", "60")
    .option("--worker-id <id>", "name shown on runs and in the workers table (default host-pid-random)")
    .action(async (opts: WorkOptions) => {
      await runWork(opts);
    });
}

async function runWork(opts: WorkOptions): Promise<void> {
  const { UsageError } = await import("@lml/core");
  const maxRuns = positiveInt(opts.maxRuns);
  if (Number.isNaN(maxRuns)) throw new UsageError(`--max-runs: expected a positive integer, got "${opts.maxRuns}"`);
  const leaseSeconds = Number(opts.lease ?? "60");
  if (!Number.isFinite(leaseSeconds) || leaseSeconds < 1)
    throw new UsageError(`--lease: expected a number of seconds ≥ 1, got "${opts.lease}"`);

  const { createLogger, defaultWorkerId, openQueueDatabase, runWorker } = await import("@lml/training/worker");
  const log = createLogger();
  const db = await openQueueDatabase();
  if (db.kind === "pglite")
    log.warn(
      "the embedded PGlite database serves one writer at a time: workers are correct but take turns; " +
        "set DATABASE_URL to a PostgreSQL server for parallel workers (see apps/trainer/WORKERS.md)",
    );

  // First signal: stop after the current step and give the run back. Another one later: leave now.
  // Signals within 2 s of the first count as the same request: Ctrl-C under `npm start` reaches the
  // worker twice (SIGINT from the terminal's process group, SIGTERM from the stack runner).
  const stop = new AbortController();
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt === 0) {
      firstSignalAt = Date.now();
      log.info({ signal }, "stopping after the current step (send again to exit at once)");
      stop.abort();
    } else if (Date.now() - firstSignalAt > 2000) {
      log.warn({ signal }, "exiting without giving the run back; it returns to the queue when its lease expires");
      process.exit(130);
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const { train } = await import("@lml/training");
  const summary = await runWorker({
    prisma: db.prisma,
    train,
    workerId: opts.workerId ?? defaultWorkerId(),
    leaseMs: leaseSeconds * 1000,
    maxRuns,
    idleExit: opts.idleExit,
    checkpointDir: process.env.LML_CHECKPOINT_DIR || undefined,
    stop: stop.signal,
    codeVersion: await codeVersion(),
    logger: log,
  }).finally(() => db.close());

  const counts = new Map<string, number>();
  for (const run of summary.runs) counts.set(run.outcome, (counts.get(run.outcome) ?? 0) + 1);
  const detail = [...counts].map(([outcome, n]) => `${n} ${outcome}`).join(", ");
  process.stdout.write(`worker ${summary.workerId}: ${summary.runs.length} run(s)${detail ? ` (${detail})` : ""}\n`);
}

/** The commit the worker runs, stored on each run it finishes (null outside a git checkout). */
async function codeVersion(): Promise<string | undefined> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) =>
    execFile("git", ["rev-parse", "--short=12", "HEAD"], { timeout: 2000 }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim() || undefined),
    ),
  );
}
