/**
 * A worker process: what `lml work` and the deployable worker app (apps/trainer) both run. Opens the
 * queue's database, turns SIGTERM/SIGINT into "finish the step, checkpoint, give the run back", runs
 * the loop with the real `train`, and prints one summary line. Rules: apps/trainer/WORKERS.md.
 */
import { execFile } from "node:child_process";
import { UsageError } from "@lml/core";
import { connectDatabase, DatabaseUrlError, type Database } from "@lml/db";
import type { TrainFunction } from "../hooks";
import { createLogger, defaultWorkerId, runWorker } from "./loop";

/**
 * The queue's database for the command line: DATABASE_URL, else the embedded PGlite server that
 * `npm start` runs. An unreachable one is one line (exit 1) saying how to get one.
 */
export async function openQueueDatabase(): Promise<Database> {
  try {
    // Pool size left to @lml/db: one connection on the embedded PGlite (its clients must not
    // interleave), several on PostgreSQL (heartbeats need not wait for a checkpoint upload).
    return await connectDatabase();
  } catch (err) {
    if (err instanceof DatabaseUrlError)
      throw new UsageError(`${err.message}; set DATABASE_URL=postgresql://… or start the embedded database with \`npm start\``, 1);
    throw err;
  }
}

/** The worker's flags as typed (`--max-runs N --idle-exit --lease S --worker-id ID`), unchecked. */
export interface WorkerFlags {
  maxRuns?: string;
  idleExit?: boolean;
  lease?: string;
  workerId?: string;
}

export interface WorkerProcessOptions {
  maxRuns?: number;
  idleExit: boolean;
  leaseSeconds: number;
  workerId?: string;
  /** The training function; default the real `train` (tfjs, loaded only then). `lml bench chaos` passes the step trainer. */
  train?: TrainFunction;
  /** Heartbeat period; default min(5 s, lease / 4). */
  heartbeatMs?: number;
}

/** Checks the flags; a bad value is a UsageError naming the flag (exit 2). */
export function parseWorkerFlags(flags: WorkerFlags): WorkerProcessOptions {
  let maxRuns: number | undefined;
  if (flags.maxRuns !== undefined) {
    maxRuns = Number(flags.maxRuns);
    if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new UsageError(`--max-runs: expected a positive integer, got "${flags.maxRuns}"`);
  }
  const leaseSeconds = Number(flags.lease ?? "60");
  // At most a day: lease times are sent as 32-bit milliseconds, and a run of a dead worker waits this long.
  if (!Number.isFinite(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 86_400)
    throw new UsageError(`--lease: expected a number of seconds from 1 to 86400, got "${flags.lease}"`);
  return { maxRuns, idleExit: flags.idleExit ?? false, leaseSeconds, workerId: flags.workerId };
}

/**
 * Claims queued runs and trains them until stopped. First signal: stop after the current step and give
 * the run back; another one more than 2 s later: leave at once (the run returns when its lease expires).
 */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<void> {
  const log = createLogger();
  const db = await openQueueDatabase();
  if (db.kind === "pglite")
    log.warn(
      "the embedded PGlite database serves one writer at a time: workers are correct but take turns; " +
        "set DATABASE_URL to a PostgreSQL server for parallel workers (see apps/trainer/WORKERS.md)",
    );

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

  // The engine (tfjs) loads only now: the flags and the database are checked first.
  const train = opts.train ?? (await import("../train")).train;
  const summary = await runWorker({
    prisma: db.prisma,
    train,
    workerId: opts.workerId ?? defaultWorkerId(),
    leaseMs: opts.leaseSeconds * 1000,
    heartbeatMs: opts.heartbeatMs,
    maxRuns: opts.maxRuns,
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

/** The commit the worker runs, stored on each run it finishes (undefined outside a git checkout). */
function codeVersion(): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile("git", ["rev-parse", "--short=12", "HEAD"], { timeout: 2000 }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim() || undefined),
    ),
  );
}
