/**
 * The queue worker's loop: register, then sweep expired leases, claim the next run, train it
 * (run.ts), and again, until the queue is empty (idleExit), maxRuns is reached or `stop` aborts.
 * See apps/trainer/WORKERS.md for the rules.
 *
 * The training function is injected (`train` option) so that the queue tests can drive the worker with
 * a tiny deterministic step-based trainer instead of tfjs.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { claimNextRun, heartbeatWorker, registerWorker, requeueExpired, stopWorker, type ClaimedRun, type PrismaClient } from "@lml/db";
import pino, { type Logger } from "pino";
import type { TrainFunction } from "../hooks";
import { errorText, sleep, withRetry, type RetryContext } from "./retry";
import { executeRun } from "./run";

export interface WorkerOptions {
  prisma: PrismaClient;
  train: TrainFunction;
  workerId?: string;
  /** Lease length. A killed worker's run is taken back this long after its last heartbeat. */
  leaseMs?: number;
  /** Heartbeat period (default min(5 s, lease / 4)): lease renewal, progress, cancel check. */
  heartbeatMs?: number;
  /** Wait between claims while the queue is empty. */
  pollMs?: number;
  /** Stop after this many runs (any outcome). */
  maxRuns?: number;
  /** Exit when the queue is empty instead of waiting for work. */
  idleExit?: boolean;
  /** Shared folder for checkpoints (LML_CHECKPOINT_DIR); default: bytes in the Artifact table. */
  checkpointDir?: string;
  /** How long to keep retrying a write that matters (results, release) while the database is away. */
  retryForMs?: number;
  /** Aborted on SIGTERM/SIGINT: finish the current step, checkpoint, release the lease, return. */
  stop?: AbortSignal;
  backend?: string;
  codeVersion?: string;
  logger?: Logger;
}

export type RunOutcome = "succeeded" | "failed" | "requeued" | "canceled" | "released" | "lost";

export interface WorkerSummary {
  workerId: string;
  runs: Array<{ id: string; name: string; attempt: number; outcome: RunOutcome }>;
}

export const DEFAULT_LEASE_MS = 60_000;

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** Logs go to stderr so that stdout stays free for command output. */
export function createLogger(name = "lml-worker"): Logger {
  return pino({ name, level: process.env.LML_LOG_LEVEL ?? "info" }, pino.destination(2));
}

/** Claims and runs work until the queue is empty (idleExit), maxRuns is reached or `stop` aborts. */
export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const prisma = options.prisma;
  const workerId = options.workerId ?? defaultWorkerId();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = options.pollMs ?? 2000;
  const retryForMs = options.retryForMs ?? 10 * 60_000;
  const log = (options.logger ?? createLogger()).child({ worker: workerId });
  const stop = options.stop;
  const summary: WorkerSummary = { workerId, runs: [] };
  const retryIdle: RetryContext = { log, forMs: retryForMs, abort: stop };

  await withRetry(
    "register worker",
    () => registerWorker(prisma, { id: workerId, host: hostname(), pid: process.pid, backend: options.backend }),
    retryIdle,
  );
  log.info({ leaseMs, checkpointDir: options.checkpointDir ?? "(database)" }, "worker started");
  // Expired leases are swept by every worker, at most twice per lease period each.
  let lastSweep = 0;
  try {
    while (!stop?.aborted && (options.maxRuns === undefined || summary.runs.length < options.maxRuns)) {
      let run: ClaimedRun | null;
      try {
        if (Date.now() - lastSweep >= Math.min(leaseMs / 2, 10_000)) {
          const swept = await withRetry("requeue expired", () => requeueExpired(prisma), retryIdle);
          lastSweep = Date.now();
          if (swept.requeued.length + swept.failed.length + swept.canceled.length > 0)
            log.info(swept, "took back runs whose lease expired");
        }
        run = await withRetry("claim", () => claimNextRun(prisma, workerId, leaseMs), retryIdle);
      } catch (err) {
        if (stop?.aborted) break;
        throw err;
      }
      if (!run) {
        if (options.idleExit) {
          log.info("queue empty; exiting (--idle-exit)");
          break;
        }
        await withRetry("heartbeat", () => heartbeatWorker(prisma, workerId, null), retryIdle).catch(() => {});
        await sleep(pollMs * (0.75 + Math.random() * 0.5), stop);
        continue;
      }
      const outcome = await executeRun(run, { ...options, prisma, workerId, leaseMs, retryForMs, log });
      summary.runs.push({ id: run.id, name: run.name, attempt: run.attempt, outcome });
    }
  } finally {
    await withRetry("stop worker", () => stopWorker(prisma, workerId), { log, forMs: 5000 }).catch((err) =>
      log.warn({ err: errorText(err) }, "could not mark the worker stopped"),
    );
    log.info({ runs: summary.runs.length }, "worker stopped");
  }
  return summary;
}
