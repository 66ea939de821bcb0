/**
 * The queue worker's loop: register, then sweep expired leases, claim the next run, train it
 * (run.ts) while the lease-keeping thread renews its lease (lease-keeper.ts), and again, until the
 * queue is empty (idleExit: after waiting out the leases of peers that may have died),
 * maxRuns is reached or `stop` aborts. See apps/trainer/WORKERS.md for the rules.
 *
 * The training function is injected (`train` option) so that the queue tests can drive the worker with
 * a tiny deterministic step-based trainer instead of tfjs.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  claimNextRun,
  clientConnectionString,
  heartbeatWorker,
  heldLeases,
  registerWorker,
  requeueExpired,
  stopWorker,
  type ClaimedRun,
  type PrismaClient,
} from "@lml/db";
import pino, { type Logger } from "pino";
import type { TrainFunction } from "../hooks";
import { LeaseKeeper } from "./lease-keeper";
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
  /**
   * The database URL (password included) for the lease-keeping thread's own connection; default the
   * URL `prisma` was made for (@lml/db's clientConnectionString).
   */
  databaseUrl?: string;
  /**
   * Give a run up (failRun, retried elsewhere) when the training thread has not answered the
   * lease-keeping thread for this long: it hangs. Default 15 minutes, far above the longest
   * synchronous stretch a valid config has (rendering the largest split RunConfig allows).
   */
  stallMs?: number;
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
export const DEFAULT_STALL_MS = 15 * 60_000;

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

  // Leases are renewed by their own thread, on its own connection (lease-keeper.ts); it loads while the
  // worker registers, and no run is claimed before it is up.
  const url = options.databaseUrl ?? clientConnectionString(prisma);
  if (!url) throw new Error("runWorker: pass databaseUrl (the lease-keeping thread opens its own connection)");
  const keeper = new LeaseKeeper({
    url,
    workerId,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? Math.min(5000, leaseMs / 4),
    stallMs: options.stallMs ?? DEFAULT_STALL_MS,
    log,
  });
  const idle = new IdleWatch(prisma, log, retryIdle);
  try {
    await withRetry(
      "register worker",
      () => registerWorker(prisma, { id: workerId, host: hostname(), pid: process.pid, backend: options.backend }),
      retryIdle,
    );
    log.info({ leaseMs, checkpointDir: options.checkpointDir ?? "(database)" }, "worker started");
    await keeper.ready;
    while (!stop?.aborted && (options.maxRuns === undefined || summary.runs.length < options.maxRuns)) {
      if (keeper.failed) throw new Error(`the lease-keeping thread failed, so no lease can be held: ${keeper.failed}`);
      let run: ClaimedRun | null;
      try {
        // Every claim first takes back expired leases: no run waits on a dead worker longer than its lease.
        const swept = await withRetry("requeue expired", () => requeueExpired(prisma), retryIdle);
        if (swept.requeued.length + swept.failed.length + swept.canceled.length > 0) log.info(swept, "took back runs whose lease expired");
        run = await withRetry("claim", () => claimNextRun(prisma, workerId, leaseMs), retryIdle);
      } catch (err) {
        if (stop?.aborted) break;
        throw err;
      }
      if (!run) {
        if (options.idleExit && !(await idle.waitingOnPeers())) {
          log.info("queue empty; exiting (--idle-exit)");
          break;
        }
        await withRetry("heartbeat", () => heartbeatWorker(prisma, workerId, null), retryIdle).catch(() => {});
        await sleep(pollMs * (0.75 + Math.random() * 0.5), stop);
        continue;
      }
      idle.reset();
      const outcome = await executeRun(run, { ...options, prisma, workerId, leaseMs, retryForMs, log, keeper });
      summary.runs.push({ id: run.id, name: run.name, attempt: run.attempt, outcome });
    }
  } finally {
    await keeper.close();
    await withRetry("stop worker", () => stopWorker(prisma, workerId), { log, forMs: 5000 }).catch((err) =>
      log.warn({ err: errorText(err) }, "could not mark the worker stopped"),
    );
    log.info({ runs: summary.runs.length }, "worker stopped");
  }
  return summary;
}

/**
 * `--idle-exit` with an empty queue: runs other workers hold might belong to a worker that died, and
 * would then wait for some worker to start after their lease expires. So the worker watches the held
 * leases it saw when the queue first ran dry and exits only once each was renewed (its worker is alive)
 * or is gone (finished, or expired and taken back — then claimed by this worker's next claim).
 */
class IdleWatch {
  private watched: Map<string, number> | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: Logger,
    private readonly retry: RetryContext,
  ) {}

  /** A run was claimed: the next empty queue starts a fresh watch. */
  reset(): void {
    this.watched = null;
  }

  async waitingOnPeers(): Promise<boolean> {
    const leases = await withRetry("held leases", () => heldLeases(this.prisma), this.retry);
    const now = new Map(leases.map((l) => [l.id, l.leaseExpiresAt.getTime()]));
    if (this.watched === null) {
      this.watched = now;
      if (now.size > 0)
        this.log.info(
          { runs: leases.map((l) => ({ id: l.id, worker: l.leaseOwner, expiresInMs: l.expiresInMs })) },
          "queue empty; before exiting, waiting to see the leases of running runs renewed or expire (their worker may have died)",
        );
    } else {
      for (const [id, expires] of this.watched) if (now.get(id) !== expires) this.watched.delete(id);
    }
    return this.watched.size > 0;
  }
}
