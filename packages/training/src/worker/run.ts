/**
 * One claimed run, in stages: parse its config (a bad one fails it at once), train it with hooks that
 * stream progress and metric points to the database and store checkpoints where every worker can read
 * them while the lease-keeping thread renews the lease (lease-keeper.ts: off this thread, so a long
 * synchronous render or step cannot let it expire), then end it — results written in one transaction,
 * or stopped (signal, cancel, lost lease), or failed. See apps/trainer/WORKERS.md for the rules.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError, parseRunConfig, type RunConfig } from "@lml/core";
import {
  appendMetricPoints,
  completeRun,
  failRun,
  loadCheckpoint,
  markCanceled,
  releaseLease,
  saveCheckpoint,
  type ClaimedRun,
} from "@lml/db";
import type { Logger } from "pino";
import { StopRequested, type CheckpointStore, type MetricPoint, type TrainHooks, type TrainResult } from "../hooks";
import type { KeptLease, LeaseKeeper } from "./lease-keeper";
import { errorText, sleep, withRetry, type RetryContext } from "./retry";
import type { RunOutcome, WorkerOptions } from "./loop";

/** The worker's settings as one run sees them. */
export interface RunContext extends WorkerOptions {
  workerId: string;
  leaseMs: number;
  retryForMs: number;
  log: Logger;
  keeper: LeaseKeeper;
}

type StopReason = "signal" | "cancel" | "lease-lost";
type StoredCheckpoint = { step: number; bytes?: Uint8Array; path?: string };

/**
 * A claimed run's live state, shared by its stages: why it must stop, the progress the heartbeat
 * reports, metric points not written yet, and a checkpoint the database did not take yet.
 */
class RunSession {
  readonly log: Logger;
  /** For writes that matter (results, failure, release): retried for `retryForMs`. */
  readonly mustRetry: RetryContext;
  stopReason: StopReason | null = null;
  progress: { step: number; totalSteps: number | null; progress: number };
  metrics: MetricPoint[] = [];
  /** A checkpoint the database did not take (connection lost): retried by the heartbeat. */
  pendingCheckpoint: StoredCheckpoint | null = null;
  /** The shared-folder file of the stored checkpoint, deleted once a newer one is stored. */
  storedPath: string | null = null;
  lastYield = Date.now();

  constructor(
    readonly run: ClaimedRun,
    readonly ctx: RunContext,
    readonly lease: KeptLease,
  ) {
    this.log = ctx.log.child({ run: run.id, name: run.name, attempt: run.attempt });
    this.mustRetry = { log: this.log, forMs: ctx.retryForMs };
    this.progress = { step: run.step, totalSteps: null, progress: 0 };
  }

  requestStop(reason: StopReason): void {
    this.stopReason ??= reason;
  }

  /** Reads what the lease-keeping thread reported (no waiting): a lost lease or a cancel stops the run. */
  checkLease(): void {
    const state = this.lease.state();
    if (state === "lost" || state === "stalled" || state === "failed") {
      if (this.stopReason !== "lease-lost")
        this.log.warn(
          { lease: state },
          state === "lost"
            ? "lease lost (expired and taken back): stopping without writing results"
            : state === "stalled"
              ? "this thread did not answer for too long and the run was given up: stopping without writing results"
              : "the lease can no longer be renewed (the lease-keeping thread failed): stopping without writing results",
        );
      this.stopReason = "lease-lost";
    } else if (state === "cancel") {
      if (this.stopReason === null) this.log.info("cancel requested: stopping at the next step");
      this.requestStop("cancel");
    }
  }

  async flushMetrics(): Promise<void> {
    if (this.metrics.length === 0) return;
    const batch = this.metrics;
    this.metrics = [];
    try {
      await appendMetricPoints(this.ctx.prisma, this.run.id, batch);
    } catch (err) {
      // A point the repository rejects would be rejected forever: drop the batch, keep training.
      if (err instanceof UsageError) {
        this.log.warn({ err: errorText(err), points: batch.length }, "metric points rejected");
        return;
      }
      this.metrics = batch.concat(this.metrics); // kept for the next try; points are upserted by (name, step)
      throw err;
    }
  }

  async storeCheckpoint(c: StoredCheckpoint): Promise<void> {
    const stored = await saveCheckpoint(this.ctx.prisma, this.run.id, this.ctx.workerId, c);
    if (!stored) {
      this.requestStop("lease-lost");
      this.log.warn({ step: c.step }, "checkpoint not stored: the lease was lost");
    }
  }

  async flushPendingCheckpoint(): Promise<void> {
    const c = this.pendingCheckpoint;
    if (!c) return;
    await this.storeCheckpoint(c);
    if (this.pendingCheckpoint === c) this.pendingCheckpoint = null;
  }
}

/** Trains one claimed run to one of its outcomes. Never throws for the run's own failures. */
export async function executeRun(run: ClaimedRun, ctx: RunContext): Promise<RunOutcome> {
  // The lease is kept (renewed off this thread) until the run's end is written, whatever the end.
  const lease = ctx.keeper.keep(run.id, { step: run.step, progress: 0 });
  try {
    return await trainAndEnd(new RunSession(run, ctx, lease));
  } finally {
    await lease.release();
  }
}

async function trainAndEnd(s: RunSession): Promise<RunOutcome> {
  const { run, ctx } = s;
  s.log.info({ regime: run.regime, seed: run.seed, fromStep: run.step }, run.step > 0 ? "resuming run" : "starting run");

  // 1. The config, parsed once. A bad one would fail on every attempt: fail the run now.
  let config: RunConfig;
  try {
    config = parseRunConfig(run.config, "invalid config");
  } catch (err) {
    return failRunAtOnce(s, err);
  }

  // 2. Train, with the lease's reports and the stop signal watched meanwhile.
  const watch = watchRun(s);
  let result: TrainResult;
  try {
    result = await ctx.train(config, trainHooks(s));
  } catch (err) {
    await watch.stop();
    if (s.stopReason !== null && err instanceof StopRequested) return endStopped(s);
    return endFailed(s, err);
  }
  await watch.stop();

  // 3. The results, in one transaction guarded by the lease.
  return endSucceeded(s, result);
}

/**
 * While training: the worker's stop signal, and a timer on this thread's event loop that tells the
 * lease-keeping thread this thread is alive, reads what it reported (lost lease, cancel), and retries
 * whatever a lost connection left behind (metric points, a checkpoint). Failures only delay it.
 */
function watchRun(s: RunSession): { stop(): Promise<void> } {
  const heartbeatMs = s.ctx.heartbeatMs ?? Math.min(5000, s.ctx.leaseMs / 4);
  const onSignal = () => s.requestStop("signal");
  if (s.ctx.stop?.aborted) onSignal();
  s.ctx.stop?.addEventListener("abort", onSignal, { once: true });

  const done = new AbortController();
  const loop = (async () => {
    let failures = 0;
    while (!done.signal.aborted) {
      await sleep(failures === 0 ? heartbeatMs : Math.min(heartbeatMs, 250 * 2 ** failures), done.signal);
      if (done.signal.aborted) break;
      s.lease.alive();
      s.checkLease();
      try {
        await s.flushMetrics();
        await s.flushPendingCheckpoint();
        if (failures > 0) s.log.info({ failures }, "database reachable again");
        failures = 0;
      } catch (err) {
        failures++;
        s.log.warn({ failures, err: errorText(err) }, "writing points or a checkpoint failed; training continues, retrying");
      }
    }
  })();

  return {
    async stop() {
      done.abort();
      await loop;
      s.ctx.stop?.removeEventListener("abort", onSignal);
    },
  };
}

/** What `train` reports through: progress for the heartbeat, buffered points, the checkpoint store, stop. */
function trainHooks(s: RunSession): TrainHooks {
  return {
    onProgress: (p) => {
      s.progress = { step: p.step, totalSteps: p.totalSteps, progress: p.totalSteps > 0 ? p.step / p.totalSteps : 0 };
      s.lease.progress(s.progress);
    },
    onMetric: (points) => {
      s.metrics.push(...points);
    },
    checkpoint: checkpointStore(s),
    shouldStop: async () => {
      s.checkLease();
      // A step may keep the event loop busy; give the timers and sockets a turn now and then.
      if (Date.now() - s.lastYield > 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        s.lastYield = Date.now();
      }
      return s.stopReason !== null;
    },
  };
}

/**
 * The run's checkpoints: bytes in the Artifact table, or with `checkpointDir` files in a shared folder
 * that the row points to. A save the database cannot take now is kept and retried by the heartbeat.
 */
function checkpointStore(s: RunSession): CheckpointStore {
  const { prisma, checkpointDir } = s.ctx;
  const { run } = s;
  return {
    load: async () => {
      const stored = await withRetry("load checkpoint", () => loadCheckpoint(prisma, run.id), s.mustRetry);
      if (!stored) return null;
      s.log.info({ step: stored.step, from: stored.path ?? "database" }, "checkpoint found");
      s.storedPath = stored.path;
      if (stored.bytes) return stored.bytes;
      if (stored.path) return new Uint8Array(await readFile(stored.path));
      return null;
    },
    save: async (bytes, step) => {
      let checkpoint: StoredCheckpoint = { step, bytes };
      if (checkpointDir) {
        // Written under a new name, then pointed to: a reader never sees half a file.
        const dir = join(checkpointDir, run.id);
        await mkdir(dir, { recursive: true });
        const path = join(dir, `step-${step}-attempt-${run.attempt}.ckpt`);
        await writeFile(`${path}.tmp`, bytes);
        await rename(`${path}.tmp`, path);
        checkpoint = { step, path };
      }
      try {
        // Points first: after a crash the next attempt re-runs only the steps after this checkpoint,
        // so points still buffered for steps before it would be lost for good.
        await s.flushMetrics();
        await s.storeCheckpoint(checkpoint);
        s.pendingCheckpoint = null;
      } catch (err) {
        s.pendingCheckpoint = checkpoint;
        s.log.warn({ step, err: errorText(err) }, "checkpoint not stored yet (database unreachable); will retry");
        return;
      }
      if (s.storedPath && s.storedPath !== checkpoint.path) await rm(s.storedPath, { force: true });
      s.storedPath = checkpoint.path ?? null;
    },
  };
}

/** The points and checkpoint still buffered, written before the run ends (best effort). */
async function flushBuffers(s: RunSession, warnOnLostPoints: boolean): Promise<void> {
  await withRetry("write metric points", () => s.flushMetrics(), s.mustRetry).catch((err) => {
    if (warnOnLostPoints) s.log.warn({ err: errorText(err) }, "some metric points were not stored");
  });
  await withRetry("store checkpoint", () => s.flushPendingCheckpoint(), s.mustRetry).catch(() => {});
}

/** A config that does not parse fails the same way on every attempt: FAILED now, no retry. */
async function failRunAtOnce(s: RunSession, err: unknown): Promise<RunOutcome> {
  const message = errorText(err);
  const status = await withRetry("fail run", () => failRun(s.ctx.prisma, s.run.id, s.ctx.workerId, message, { retry: false }), s.mustRetry);
  s.log.error({ err: message, status }, "run has an invalid config");
  return "failed";
}

async function endSucceeded(s: RunSession, result: TrainResult): Promise<RunOutcome> {
  await flushBuffers(s, true);
  const written = await withRetry(
    "complete run",
    () =>
      completeRun(s.ctx.prisma, {
        runId: s.run.id,
        workerId: s.ctx.workerId,
        attempt: s.run.attempt,
        evaluations: result.evaluations,
        artifacts: result.artifacts.map((a) => ({ ...a, step: result.steps })),
        backend: result.backend,
        codeVersion: s.ctx.codeVersion,
        steps: result.steps,
      }),
    s.mustRetry,
  );
  if (written.written || written.reason === "already-succeeded") {
    s.log.info({ steps: result.steps, seconds: Math.round(result.seconds), evaluations: result.evaluations.length }, "run succeeded");
    return "succeeded";
  }
  if (written.reason === "canceled") {
    s.log.info({ steps: result.steps }, "canceled before its results were written: results discarded, run CANCELED");
    return "canceled";
  }
  s.log.warn({ status: written.status }, "results discarded: the lease was lost before they were written");
  return "lost";
}

/** `train` stopped on request after a checkpoint: cancel → CANCELED, signal → back to the queue. */
async function endStopped(s: RunSession): Promise<RunOutcome> {
  const { prisma, workerId } = s.ctx;
  await flushBuffers(s, false);
  if (s.stopReason === "cancel") {
    const ok = await withRetry("mark canceled", () => markCanceled(prisma, s.run.id, workerId), s.mustRetry);
    s.log.info({ step: s.progress.step }, ok ? "run canceled" : "cancel: the lease was already lost");
    return ok ? "canceled" : "lost";
  }
  if (s.stopReason === "signal") {
    const status = await withRetry("release lease", () => releaseLease(prisma, s.run.id, workerId), s.mustRetry);
    s.log.info({ step: s.progress.step, status }, "stopped by signal: checkpointed and released the run");
    return status ? "released" : "lost";
  }
  s.log.warn({ step: s.progress.step }, "stopped: the lease was lost");
  return "lost";
}

/**
 * `train` threw: queued again while attempts remain, except for bad input (a UsageError: a config or
 * data error that would repeat), which fails the run at once.
 */
async function endFailed(s: RunSession, err: unknown): Promise<RunOutcome> {
  const message = errorText(err);
  s.log.error({ err: message, stack: err instanceof Error ? err.stack : undefined }, "run failed");
  const status = await withRetry(
    "fail run",
    () => failRun(s.ctx.prisma, s.run.id, s.ctx.workerId, message, { retry: !(err instanceof UsageError) }),
    s.mustRetry,
  ).catch((e) => {
    s.log.error({ err: errorText(e) }, "could not record the failure; the lease will expire");
    return null;
  });
  return status === "QUEUED" ? "requeued" : status === "CANCELED" ? "canceled" : status ? "failed" : "lost";
}
