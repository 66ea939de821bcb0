/**
 * The queue worker behind `lml work`: claim a run, train it with hooks that stream progress and metric
 * points to the database and store checkpoints where every worker can read them, renew the lease by
 * heartbeat, and write the results in one transaction. See apps/trainer/WORKERS.md for the rules.
 *
 * The training function is injected (`train` option) so that the queue tests can drive the worker with
 * a tiny deterministic step-based trainer instead of tfjs.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunConfigSchema, UsageError, type RunConfig } from "@lml/core";
import {
  connectDatabase,
  DatabaseUrlError,
  claimNextRun,
  completeRun,
  failRun,
  heartbeatWorker,
  loadCheckpoint,
  markCanceled,
  appendMetricPoints,
  registerWorker,
  releaseLease,
  renewLease,
  requeueExpired,
  saveCheckpoint,
  stopWorker,
  type ArtifactInput,
  type ClaimedRun,
  type Database,
  type EvaluationInput,
  type NewMetricPoint,
  type PrismaClient,
} from "@lml/db";
import pino, { type Logger } from "pino";

// --- The training function's contract (train.ts implements it) ---------------------

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  imagesPerSec: number;
}

export interface TrainCheckpointStore {
  /** The latest checkpoint of this run (from an earlier attempt), or null to start from step 0. */
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array, step: number): Promise<void>;
}

export interface TrainHooks {
  onProgress?(progress: TrainProgress): void;
  onMetric?(points: NewMetricPoint[]): void;
  checkpoint?: TrainCheckpointStore;
  /** Polled once per step; true makes the trainer checkpoint and throw StopRequested. */
  shouldStop?(): boolean | Promise<boolean>;
}

export interface TrainOutcome {
  backend: string;
  steps: number;
  evaluations: EvaluationInput[];
  seconds: number;
  /** Stored with the results in the same transaction (the trainer's sample-prediction strips). */
  artifacts?: ArtifactInput[];
}

export type TrainFunction = (config: RunConfig, hooks: TrainHooks) => Promise<TrainOutcome>;

/** The trainer's StopRequested (matched by name so that this module does not load tfjs). */
function isStopRequested(err: unknown): boolean {
  return err instanceof Error && err.name === "StopRequested";
}

// --- Options -------------------------------------------------------------------------------------

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

/**
 * The queue's database for the CLI: DATABASE_URL, else the embedded PGlite server that `npm start`
 * runs. An unreachable one is one line (exit 1) saying how to get one.
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

// --- Small helpers ---------------------------------------------------------------------------------

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n").slice(0, 3).join(" ").slice(0, 2000);
  return String(err);
}

interface RetryContext {
  log: Logger;
  /** Give up (rethrow the last error) after this long. */
  forMs: number;
  /** Stop retrying (rethrow) once this is aborted: only for work that holds no lease. */
  abort?: AbortSignal;
}

/**
 * Retries a database call with exponential back-off (200 ms doubling to 5 s, jittered) while the
 * connection is lost. Bad input (UsageError) is not retried.
 */
async function withRetry<T>(what: string, fn: () => Promise<T>, ctx: RetryContext): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= ctx.forMs || ctx.abort?.aborted) throw err;
      const delay = Math.min(5000, 200 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      ctx.log.warn({ what, attempt: attempt + 1, retryInMs: Math.round(delay), err: errorText(err) }, "database call failed; retrying");
      await sleep(Math.min(delay, ctx.forMs - elapsed), ctx.abort);
    }
  }
}

// --- The worker loop -------------------------------------------------------------------------------

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

type StopReason = "signal" | "cancel" | "lease-lost";

interface RunContext extends WorkerOptions {
  workerId: string;
  leaseMs: number;
  retryForMs: number;
  log: Logger;
}

/** Trains one claimed run to one of its outcomes. Never throws for the run's own failures. */
async function executeRun(run: ClaimedRun, ctx: RunContext): Promise<RunOutcome> {
  const { prisma, workerId, leaseMs } = ctx;
  const log = ctx.log.child({ run: run.id, name: run.name, attempt: run.attempt });
  const heartbeatMs = ctx.heartbeatMs ?? Math.min(5000, leaseMs / 4);
  const mustRetry: RetryContext = { log, forMs: ctx.retryForMs };
  let stopReason: StopReason | null = null;
  let progress = { step: run.step, totalSteps: null as number | null, progress: 0 };
  let metrics: NewMetricPoint[] = [];
  // A checkpoint the database did not take yet (connection lost): retried by the heartbeat loop.
  let pendingCheckpoint: { step: number; bytes?: Uint8Array; path?: string } | null = null;
  let lastYield = Date.now();
  // The shared-folder file of the stored checkpoint, deleted once a newer one is stored.
  let storedPath: string | null = null;

  const onSignal = () => {
    stopReason ??= "signal";
  };
  if (ctx.stop?.aborted) onSignal();
  ctx.stop?.addEventListener("abort", onSignal, { once: true });

  log.info({ regime: run.regime, seed: run.seed, fromStep: run.step }, run.step > 0 ? "resuming run" : "starting run");

  const flushMetrics = async () => {
    if (metrics.length === 0) return;
    const batch = metrics;
    metrics = [];
    try {
      await appendMetricPoints(prisma, run.id, batch);
    } catch (err) {
      // A point the repository rejects would be rejected forever: drop the batch, keep training.
      if (err instanceof UsageError) {
        log.warn({ err: errorText(err), points: batch.length }, "metric points rejected");
        return;
      }
      metrics = batch.concat(metrics); // kept for the next try; points are upserted by (name, step)
      throw err;
    }
  };

  const storeCheckpoint = async (c: { step: number; bytes?: Uint8Array; path?: string }) => {
    const stored = await saveCheckpoint(prisma, run.id, workerId, c);
    if (!stored) {
      stopReason ??= "lease-lost";
      log.warn({ step: c.step }, "checkpoint not stored: the lease was lost");
    }
  };

  const flushPendingCheckpoint = async () => {
    const c = pendingCheckpoint;
    if (!c) return;
    await storeCheckpoint(c);
    if (pendingCheckpoint === c) pendingCheckpoint = null;
  };

  // Heartbeat loop: renew the lease (with the progress reached), learn about cancel requests, and
  // retry whatever a lost connection left behind. Failures only delay it: training goes on.
  const heartbeatStop = new AbortController();
  const heartbeatLoop = (async () => {
    let failures = 0;
    while (!heartbeatStop.signal.aborted) {
      await sleep(failures === 0 ? heartbeatMs : Math.min(heartbeatMs, 250 * 2 ** failures), heartbeatStop.signal);
      if (heartbeatStop.signal.aborted) break;
      try {
        const state = await renewLease(prisma, run.id, workerId, leaseMs, progress);
        if (!state.owned) {
          if (stopReason !== "lease-lost") log.warn("lease lost (expired and taken back): stopping without writing results");
          stopReason = "lease-lost";
        } else if (state.cancelRequested) {
          if (stopReason === null) log.info("cancel requested: stopping at the next step");
          stopReason ??= "cancel";
        }
        await heartbeatWorker(prisma, workerId, run.id);
        await flushMetrics();
        await flushPendingCheckpoint();
        if (failures > 0) log.info({ failures }, "database reachable again");
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ failures, err: errorText(err) }, "heartbeat failed; training continues, retrying");
      }
    }
  })();

  const hooks: TrainHooks = {
    onProgress: (p) => {
      progress = { step: p.step, totalSteps: p.totalSteps, progress: p.totalSteps > 0 ? p.step / p.totalSteps : 0 };
    },
    onMetric: (points) => {
      metrics.push(...points);
    },
    checkpoint: {
      load: async () => {
        const stored = await withRetry("load checkpoint", () => loadCheckpoint(prisma, run.id), mustRetry);
        if (!stored) return null;
        log.info({ step: stored.step, from: stored.path ?? "database" }, "checkpoint found");
        storedPath = stored.path;
        if (stored.bytes) return stored.bytes;
        if (stored.path) return new Uint8Array(await readFile(stored.path));
        return null;
      },
      save: async (bytes, step) => {
        let checkpoint: { step: number; bytes?: Uint8Array; path?: string } = { step, bytes };
        if (ctx.checkpointDir) {
          // Written under a new name, then pointed to: a reader never sees half a file.
          const dir = join(ctx.checkpointDir, run.id);
          await mkdir(dir, { recursive: true });
          const path = join(dir, `step-${step}-attempt-${run.attempt}.ckpt`);
          await writeFile(`${path}.tmp`, bytes);
          await rename(`${path}.tmp`, path);
          checkpoint = { step, path };
        }
        try {
          // Points first: after a crash the next attempt re-runs only the steps after this checkpoint,
          // so points still buffered for steps before it would be lost for good.
          await flushMetrics();
          await storeCheckpoint(checkpoint);
          pendingCheckpoint = null;
        } catch (err) {
          pendingCheckpoint = checkpoint;
          log.warn({ step, err: errorText(err) }, "checkpoint not stored yet (database unreachable); will retry");
          return;
        }
        if (storedPath && storedPath !== checkpoint.path) await rm(storedPath, { force: true });
        storedPath = checkpoint.path ?? null;
      },
    },
    shouldStop: async () => {
      // A step may keep the event loop busy; give the heartbeat timers and sockets a turn now and then.
      if (Date.now() - lastYield > 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
      return stopReason !== null;
    },
  };

  const finish = async (): Promise<void> => {
    heartbeatStop.abort();
    await heartbeatLoop;
    ctx.stop?.removeEventListener("abort", onSignal);
  };

  let config: RunConfig;
  try {
    config = RunConfigSchema.parse(run.config);
  } catch (err) {
    await finish();
    const status = await withRetry("fail run", () => failRun(prisma, run.id, workerId, `invalid config: ${errorText(err)}`, { retry: false }), mustRetry);
    log.error({ err: errorText(err), status }, "run has an invalid config");
    return "failed";
  }

  try {
    const result = await ctx.train(config, hooks);
    await finish();
    await withRetry("write metric points", flushMetrics, mustRetry).catch((err) =>
      log.warn({ err: errorText(err) }, "some metric points were not stored"),
    );
    await withRetry("store checkpoint", flushPendingCheckpoint, mustRetry).catch(() => {});
    const written = await withRetry(
      "complete run",
      () =>
        completeRun(prisma, {
          runId: run.id,
          workerId,
          attempt: run.attempt,
          evaluations: result.evaluations,
          artifacts: result.artifacts?.map((a) => ({ ...a, step: a.step ?? result.steps })),
          backend: result.backend,
          codeVersion: ctx.codeVersion,
          steps: result.steps,
        }),
      mustRetry,
    );
    if (written.written || written.reason === "already-succeeded") {
      log.info({ steps: result.steps, seconds: Math.round(result.seconds), evaluations: result.evaluations.length }, "run succeeded");
      return "succeeded";
    }
    log.warn({ status: written.status }, "results discarded: the lease was lost before they were written");
    return "lost";
  } catch (err) {
    await finish();
    if (stopReason !== null && isStopRequested(err)) {
      await withRetry("write metric points", flushMetrics, mustRetry).catch(() => {});
      await withRetry("store checkpoint", flushPendingCheckpoint, mustRetry).catch(() => {});
      if (stopReason === "cancel") {
        const ok = await withRetry("mark canceled", () => markCanceled(prisma, run.id, workerId), mustRetry);
        log.info({ step: progress.step }, ok ? "run canceled" : "cancel: the lease was already lost");
        return ok ? "canceled" : "lost";
      }
      if (stopReason === "signal") {
        const status = await withRetry("release lease", () => releaseLease(prisma, run.id, workerId), mustRetry);
        log.info({ step: progress.step, status }, "stopped by signal: checkpointed and released the run");
        return status ? "released" : "lost";
      }
      log.warn({ step: progress.step }, "stopped: the lease was lost");
      return "lost";
    }
    const message = errorText(err);
    log.error({ err: message, stack: err instanceof Error ? err.stack : undefined }, "run failed");
    const status = await withRetry(
      "fail run",
      () => failRun(prisma, run.id, workerId, message, { retry: !(err instanceof UsageError) }),
      mustRetry,
    ).catch((e) => {
      log.error({ err: errorText(e) }, "could not record the failure; the lease will expire");
      return null;
    });
    return status === "QUEUED" ? "requeued" : status === "CANCELED" ? "canceled" : status ? "failed" : "lost";
  }
}
