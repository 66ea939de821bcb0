/**
 * The run queue. PostgreSQL is the coordinator (no broker): a Run row is the job, and its lease
 * (`leaseOwner`, `leaseExpiresAt`) says which worker holds it until when.
 *
 * Life of a run:
 *   QUEUED --claimNextRun--> RUNNING --completeRun--> SUCCEEDED
 *                            RUNNING --failRun------> QUEUED (retry) | FAILED (attempts used up)
 *                            RUNNING --lease expires, requeueExpired--> QUEUED | FAILED
 *                            RUNNING --releaseLease (SIGTERM)-------> QUEUED (attempt not counted)
 *   QUEUED --cancelRun--> CANCELED;   RUNNING --cancelRun--> cancelRequested, worker --> CANCELED
 *   FAILED | CANCELED --requeueRun--> QUEUED
 *
 * Every lease-holder write is guarded by `leaseOwner = workerId AND status = 'RUNNING'`, so a worker
 * that lost its lease (it was cut off and another worker took the run over) can never overwrite the
 * run or write a second set of results. Lease times are computed by the database clock, never the
 * worker's, so clock skew between machines cannot shorten or stretch a lease.
 *
 * Timestamps are `timestamp(3)` without time zone holding UTC (Prisma's convention), hence
 * `now() AT TIME ZONE 'UTC'` wherever SQL writes or compares one.
 */
import { expandGrid, RUN_STATUSES, UsageError, type GridSpec, type RunStatusName } from "@lml/core";
import { Prisma, type PrismaClient } from "./generated/prisma/client";
import type { NewEvaluation } from "./repositories/evaluations";

type Db = PrismaClient;
type Tx = Prisma.TransactionClient;

const NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export { RUN_STATUSES, type RunStatusName };

// ---------------------------------------------------------------------------------------------------
// Grids
// ---------------------------------------------------------------------------------------------------

/**
 * One expanded cell of a grid spec: what becomes one Run. @lml/core's GridCell fits; `config` is kept
 * loose here (the worker validates it with RunConfigSchema when it claims the run).
 */
export interface QueueCell {
  name: string;
  regime: string;
  seed: number;
  config: unknown;
}

export interface SubmitGridOptions {
  /** Queue another grid even when one of the same name exists (nothing is deleted). */
  force?: boolean;
  /** Higher runs first; default: the spec's priority, else 0. */
  priority?: number;
  /** Attempts before a run whose worker keeps dying is FAILED; default: the spec's, else 3. */
  maxAttempts?: number;
  /** The expanded cells; default `expandGrid(spec)` (@lml/core), which needs a full GridSpec. */
  cells?: QueueCell[];
}

/** A GridSpec from @lml/core, or just a name when the caller passes the cells. */
export type SubmittableSpec = Pick<GridSpec, "name"> & Partial<Pick<GridSpec, "priority" | "maxAttempts">>;

export interface SubmittedGrid {
  id: string;
  name: string;
  runs: number;
}

/**
 * Stores a grid and queues one Run per cell, in one transaction. A grid of the same name already
 * queued is an error asking for `--force` (resubmitting by accident must not silently double the
 * work); with force a new grid of that name is added and the old one is left as it is.
 */
export async function submitGrid(
  prisma: Db,
  spec: SubmittableSpec,
  specText: string | null,
  options: SubmitGridOptions = {},
): Promise<SubmittedGrid> {
  const cells = options.cells ?? expandGrid(spec as GridSpec);
  const priority = options.priority ?? spec.priority ?? 0;
  const maxAttempts = options.maxAttempts ?? spec.maxAttempts ?? 3;
  if (cells.length === 0) throw new UsageError(`grid "${spec.name}": the spec expands to no runs`);
  return prisma.$transaction(async (tx) => {
    // Two concurrent submissions of one name must not both pass the check below.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${"lml-grid:" + spec.name}))`;
    const existing = await tx.grid.findFirst({
      where: { name: spec.name },
      orderBy: { createdAt: "desc" },
      include: { _count: { select: { runs: true } } },
    });
    if (existing && !options.force)
      throw new UsageError(
        `a grid named "${spec.name}" already exists (id ${existing.id}, ${existing._count.runs} runs, ` +
          `submitted ${existing.createdAt.toISOString()}); resubmit with --force to queue another copy`,
      );
    const grid = await tx.grid.create({
      data: { name: spec.name, spec: spec as Prisma.InputJsonValue, specText },
    });
    // Runs are claimed oldest first: one millisecond apart keeps the spec's order as the queue order.
    const base = Date.now();
    await tx.run.createMany({
      data: cells.map((cell, i) => ({
        gridId: grid.id,
        name: cell.name,
        regime: cell.regime,
        seed: cell.seed,
        config: cell.config as Prisma.InputJsonValue,
        priority,
        maxAttempts,
        createdAt: new Date(base + i),
      })),
    });
    return { id: grid.id, name: grid.name, runs: cells.length };
  });
}

/** A grid by id, or the newest grid of that name; UsageError when there is none. */
export async function resolveGrid(prisma: Db, ref: string): Promise<{ id: string; name: string; createdAt: Date }> {
  const grid = UUID_RE.test(ref)
    ? await prisma.grid.findUnique({ where: { id: ref }, select: { id: true, name: true, createdAt: true } })
    : await prisma.grid.findFirst({
        where: { name: ref },
        orderBy: { createdAt: "desc" },
        select: { id: true, name: true, createdAt: true },
      });
  if (!grid) throw new UsageError(`no grid with id or name "${ref}"`);
  return grid;
}

export interface GridRunStatus {
  id: string;
  name: string;
  regime: string;
  seed: number;
  status: RunStatusName;
  progress: number;
  step: number;
  totalSteps: number | null;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  cancelRequested: boolean;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface GridStatus {
  grid: { id: string; name: string; createdAt: Date };
  counts: Record<RunStatusName, number>;
  runs: GridRunStatus[];
}

/** Every run of a grid (queue order) with its status and progress, and counts per status. */
export async function gridStatus(prisma: Db, ref: string): Promise<GridStatus> {
  const grid = await resolveGrid(prisma, ref);
  const runs = await prisma.run.findMany({
    where: { gridId: grid.id },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: {
      id: true,
      name: true,
      regime: true,
      seed: true,
      status: true,
      progress: true,
      step: true,
      totalSteps: true,
      attempts: true,
      maxAttempts: true,
      leaseOwner: true,
      cancelRequested: true,
      error: true,
      startedAt: true,
      finishedAt: true,
    },
  });
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatusName, number>;
  for (const run of runs) counts[run.status]++;
  return { grid, counts, runs };
}

// ---------------------------------------------------------------------------------------------------
// Claiming and leases
// ---------------------------------------------------------------------------------------------------

/** A run as its worker receives it. `attempt` is this claim's attempt number (1 = first). */
export interface ClaimedRun {
  id: string;
  gridId: string | null;
  name: string;
  regime: string;
  config: unknown;
  seed: number;
  attempt: number;
  maxAttempts: number;
  /** Step reached by earlier attempts (their last checkpoint); 0 on a fresh run. */
  step: number;
  leaseExpiresAt: Date;
}

interface ClaimRow {
  id: string;
  gridId: string | null;
  name: string;
  regime: string;
  config: unknown;
  seed: number;
  attempts: number;
  maxAttempts: number;
  step: number;
  leaseExpiresAt: Date;
}

/**
 * Claims the highest-priority, oldest QUEUED run in ONE statement: the inner SELECT locks the row with
 * `FOR UPDATE SKIP LOCKED` (concurrent claimers skip it instead of waiting, and a row another claimer
 * has just committed as RUNNING fails the re-check), and the UPDATE sets the lease, counts the attempt
 * and marks it RUNNING. Returns null when nothing is queued.
 */
export async function claimNextRun(prisma: Db, workerId: string, leaseMs: number): Promise<ClaimedRun | null> {
  const rows = await prisma.$queryRaw<ClaimRow[]>`
    UPDATE "Run" AS r SET
      "status" = 'RUNNING',
      "leaseOwner" = ${workerId},
      "leaseExpiresAt" = ${NOW} + ${Math.round(leaseMs)}::int * interval '1 millisecond',
      "attempts" = r."attempts" + 1,
      "startedAt" = COALESCE(r."startedAt", ${NOW}),
      "updatedAt" = ${NOW}
    WHERE r."id" = (
      SELECT q."id" FROM "Run" AS q
      WHERE q."status" = 'QUEUED' AND NOT q."cancelRequested"
      ORDER BY q."priority" DESC, q."createdAt" ASC, q."id" ASC
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    RETURNING r."id", r."gridId", r."name", r."regime", r."config", r."seed", r."attempts",
              r."maxAttempts", r."step", r."leaseExpiresAt"`;
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id,
    gridId: row.gridId,
    name: row.name,
    regime: row.regime,
    config: typeof row.config === "string" ? JSON.parse(row.config) : row.config,
    seed: row.seed,
    attempt: row.attempts,
    maxAttempts: row.maxAttempts,
    step: row.step,
    leaseExpiresAt: row.leaseExpiresAt,
  };
}

export interface LeaseState {
  /** False when the lease was lost (expired and requeued, or taken over): stop, write nothing. */
  owned: boolean;
  /** A cancel was requested from the CLI or the dashboard: stop at the next step, mark CANCELED. */
  cancelRequested: boolean;
}

export interface ProgressUpdate {
  step: number;
  totalSteps?: number | null;
  /** In [0, 1]. */
  progress: number;
}

/**
 * The heartbeat: extends the lease by `leaseMs` from now (database time) if `workerId` still holds it,
 * storing the progress reached, and reports whether a cancel was requested.
 */
export async function renewLease(
  prisma: Db,
  runId: string,
  workerId: string,
  leaseMs: number,
  progress?: ProgressUpdate,
): Promise<LeaseState> {
  const step = progress?.step ?? null;
  const totalSteps = progress?.totalSteps ?? null;
  const fraction = progress ? Math.min(1, Math.max(0, progress.progress)) : null;
  const rows = await prisma.$queryRaw<Array<{ cancelRequested: boolean }>>`
    UPDATE "Run" SET
      "leaseExpiresAt" = ${NOW} + ${Math.round(leaseMs)}::int * interval '1 millisecond',
      "step" = COALESCE(${step}::int, "step"),
      "totalSteps" = COALESCE(${totalSteps}::int, "totalSteps"),
      "progress" = COALESCE(${fraction}::float8, "progress"),
      "updatedAt" = ${NOW}
    WHERE "id" = ${runId}::uuid AND "leaseOwner" = ${workerId} AND "status" = 'RUNNING'
    RETURNING "cancelRequested"`;
  if (rows.length === 0) return { owned: false, cancelRequested: false };
  return { owned: true, cancelRequested: rows[0].cancelRequested };
}

/**
 * Gives a run back without counting the attempt (a worker shutting down on SIGTERM after its
 * checkpoint): RUNNING -> QUEUED, or CANCELED when a cancel was requested meanwhile. Returns the new
 * status, or null when `workerId` no longer held the lease.
 */
export async function releaseLease(prisma: Db, runId: string, workerId: string): Promise<RunStatusName | null> {
  const rows = await prisma.$queryRaw<Array<{ status: RunStatusName }>>`
    UPDATE "Run" SET
      "status" = CASE WHEN "cancelRequested" THEN 'CANCELED'::"RunStatus" ELSE 'QUEUED'::"RunStatus" END,
      "attempts" = GREATEST("attempts" - 1, 0),
      "finishedAt" = CASE WHEN "cancelRequested" THEN ${NOW} ELSE NULL END,
      "leaseOwner" = NULL,
      "leaseExpiresAt" = NULL,
      "updatedAt" = ${NOW}
    WHERE "id" = ${runId}::uuid AND "leaseOwner" = ${workerId} AND "status" = 'RUNNING'
    RETURNING "status"::text AS "status"`;
  return rows[0]?.status ?? null;
}

/** One entry of Run.attemptErrors. */
export interface AttemptError {
  attempt: number;
  worker: string | null;
  error: string;
  at: string;
}

function attemptErrorsOf(value: unknown): AttemptError[] {
  const parsed = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? (parsed as AttemptError[]) : [];
}

function givingUpMessage(errors: AttemptError[]): string {
  const reasons = errors.map((e) => `attempt ${e.attempt} (${e.worker ?? "?"}): ${e.error}`).join("; ");
  return `failed after ${errors.length} attempt${errors.length === 1 ? "" : "s"}: ${reasons}`;
}

export interface RequeueResult {
  requeued: string[];
  failed: string[];
  canceled: string[];
}

/**
 * Takes back every RUNNING run whose lease has expired (its worker died, was killed or cut off):
 * QUEUED again so that the next worker resumes it from its checkpoint, FAILED with each attempt's
 * reason once its attempts reach maxAttempts, or CANCELED if a cancel was pending. Rows another
 * transaction holds (a late heartbeat) are skipped, and re-examined on the next call.
 */
export async function requeueExpired(prisma: Db): Promise<RequeueResult> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      Array<{
        id: string;
        attempts: number;
        maxAttempts: number;
        leaseOwner: string | null;
        leaseExpiresAt: Date;
        cancelRequested: boolean;
        attemptErrors: unknown;
        now: Date;
      }>
    >`
      SELECT "id", "attempts", "maxAttempts", "leaseOwner", "leaseExpiresAt", "cancelRequested",
             "attemptErrors", ${NOW} AS "now"
      FROM "Run"
      WHERE "status" = 'RUNNING' AND "leaseExpiresAt" < ${NOW}
      FOR UPDATE SKIP LOCKED`;
    const result: RequeueResult = { requeued: [], failed: [], canceled: [] };
    for (const row of rows) {
      const errors = [
        ...attemptErrorsOf(row.attemptErrors),
        {
          attempt: row.attempts,
          worker: row.leaseOwner,
          error: `lease expired at ${row.leaseExpiresAt.toISOString()} (the worker stopped heart-beating: killed, crashed or cut off)`,
          at: row.now.toISOString(),
        },
      ];
      const status: RunStatusName = row.cancelRequested
        ? "CANCELED"
        : row.attempts >= row.maxAttempts
          ? "FAILED"
          : "QUEUED";
      await tx.run.update({
        where: { id: row.id },
        data: {
          status,
          attemptErrors: errors as unknown as Prisma.InputJsonValue,
          error: status === "FAILED" ? givingUpMessage(errors) : undefined,
          leaseOwner: null,
          leaseExpiresAt: null,
          finishedAt: status === "QUEUED" ? null : row.now,
        },
      });
      (status === "QUEUED" ? result.requeued : status === "FAILED" ? result.failed : result.canceled).push(row.id);
    }
    return result;
  });
}

// ---------------------------------------------------------------------------------------------------
// Finishing a run
// ---------------------------------------------------------------------------------------------------

/**
 * One evaluation as the trainer hands it over: the repositories' NewEvaluation (the Evaluation model's
 * fields); its `attempt` is ignored here, completeRun stamps the attempt that holds the lease.
 */
export type EvaluationInput = NewEvaluation;

export interface ArtifactInput {
  kind: string;
  name: string;
  mime?: string | null;
  /** Bytes stored in the database, or a path on a folder every reader can see. */
  bytes?: Uint8Array | null;
  path?: string | null;
  step?: number | null;
}

export interface CompleteRunInput {
  runId: string;
  workerId: string;
  /** The attempt number claimNextRun returned: a stale attempt can never complete the run. */
  attempt: number;
  evaluations: EvaluationInput[];
  artifacts?: ArtifactInput[];
  backend?: string | null;
  codeVersion?: string | null;
  steps?: number;
}

export type CompleteRunResult =
  | { written: true }
  | { written: false; reason: "already-succeeded" | "lease-lost"; status: RunStatusName };

/** A Buffer or a view on part of a larger buffer, copied to the plain Uint8Array Prisma stores. */
function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

async function lockRun(tx: Tx, runId: string) {
  const rows = await tx.$queryRaw<
    Array<{ status: RunStatusName; leaseOwner: string | null; attempts: number; maxAttempts: number; cancelRequested: boolean; attemptErrors: unknown }>
  >`SELECT "status"::text AS "status", "leaseOwner", "attempts", "maxAttempts", "cancelRequested", "attemptErrors"
    FROM "Run" WHERE "id" = ${runId}::uuid FOR UPDATE`;
  if (!rows[0]) throw new Error(`run ${runId} does not exist`);
  return rows[0];
}

async function upsertArtifact(tx: Tx, runId: string, a: ArtifactInput): Promise<void> {
  const bytes = a.bytes ? ownBytes(a.bytes) : null;
  const data = {
    mime: a.mime ?? null,
    path: a.path ?? null,
    bytes,
    size: bytes?.byteLength ?? 0,
    step: a.step ?? null,
  };
  await tx.artifact.upsert({
    where: { runId_kind_name: { runId, kind: a.kind, name: a.name } },
    create: { runId, kind: a.kind, name: a.name, ...data },
    update: data,
  });
}

/**
 * Writes a run's results and marks it SUCCEEDED in ONE transaction, holding the run's row lock: the
 * evaluations (replacing any, so there is only ever one set), the artifacts (upserted by kind and
 * name), the status. Idempotent: calling it again after a lost connection, when the first call had
 * in fact committed, returns `already-succeeded` and writes nothing; a worker whose lease was lost
 * (or a stale attempt) gets `lease-lost` and writes nothing.
 */
export async function completeRun(prisma: Db, input: CompleteRunInput): Promise<CompleteRunResult> {
  return prisma.$transaction(
    async (tx) => {
      const run = await lockRun(tx, input.runId);
      if (run.status === "SUCCEEDED") return { written: false, reason: "already-succeeded", status: run.status };
      if (run.status !== "RUNNING" || run.leaseOwner !== input.workerId || run.attempts !== input.attempt)
        return { written: false, reason: "lease-lost", status: run.status };
      await tx.evaluation.deleteMany({ where: { runId: input.runId } });
      if (input.evaluations.length > 0)
        await tx.evaluation.createMany({
          data: input.evaluations.map((e) => ({
            runId: input.runId,
            attempt: input.attempt,
            testSet: e.testSet,
            protocol: e.protocol,
            norm: e.norm,
            nme: e.nme,
            auc8: e.auc8,
            fr8: e.fr8,
            auc10: e.auc10,
            fr10: e.fr10,
            count: e.count,
            perLandmark: e.perLandmark ?? [],
            perImage: e.perImage ?? [],
            cedX: e.cedX ?? [],
            cedY: e.cedY ?? [],
          })),
        });
      for (const artifact of input.artifacts ?? []) await upsertArtifact(tx, input.runId, artifact);
      await tx.run.update({
        where: { id: input.runId },
        data: {
          status: "SUCCEEDED",
          progress: 1,
          ...(input.steps !== undefined ? { step: input.steps, totalSteps: input.steps } : {}),
          backend: input.backend ?? undefined,
          codeVersion: input.codeVersion ?? undefined,
          error: null,
          leaseOwner: null,
          leaseExpiresAt: null,
          finishedAt: new Date(),
        },
      });
      return { written: true } as const;
    },
    // Large per-image arrays and checkpoints take a while to send on a slow link.
    { timeout: 60_000, maxWait: 30_000 },
  );
}

export interface FailRunOptions {
  /** Queue it again while attempts remain (false for errors that would repeat, e.g. a bad config). */
  retry?: boolean;
}

/**
 * Records a failed attempt (the training threw). The run is QUEUED again while attempts remain and
 * `retry` is true, otherwise FAILED with every attempt's reason; CANCELED if a cancel was pending.
 * Returns the new status, or null when `workerId` no longer held the lease (nothing written).
 */
export async function failRun(
  prisma: Db,
  runId: string,
  workerId: string,
  error: string,
  options: FailRunOptions = {},
): Promise<RunStatusName | null> {
  return prisma.$transaction(async (tx) => {
    const run = await lockRun(tx, runId);
    if (run.status !== "RUNNING" || run.leaseOwner !== workerId) return null;
    const errors = [
      ...attemptErrorsOf(run.attemptErrors),
      { attempt: run.attempts, worker: workerId, error, at: new Date().toISOString() },
    ];
    const status: RunStatusName = run.cancelRequested
      ? "CANCELED"
      : (options.retry ?? true) && run.attempts < run.maxAttempts
        ? "QUEUED"
        : "FAILED";
    await tx.run.update({
      where: { id: runId },
      data: {
        status,
        attemptErrors: errors as unknown as Prisma.InputJsonValue,
        error: status === "FAILED" ? givingUpMessage(errors) : error,
        leaseOwner: null,
        leaseExpiresAt: null,
        finishedAt: status === "QUEUED" ? null : new Date(),
      },
    });
    return status;
  });
}

/** The worker's answer to a cancel request: RUNNING -> CANCELED. False when the lease was lost. */
export async function markCanceled(prisma: Db, runId: string, workerId: string): Promise<boolean> {
  const count = await prisma.$executeRaw`
    UPDATE "Run" SET "status" = 'CANCELED', "cancelRequested" = true, "finishedAt" = ${NOW},
      "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = ${NOW}
    WHERE "id" = ${runId}::uuid AND "leaseOwner" = ${workerId} AND "status" = 'RUNNING'`;
  return count > 0;
}

// ---------------------------------------------------------------------------------------------------
// Cancel and requeue (CLI, dashboard)
// ---------------------------------------------------------------------------------------------------

export interface CancelResult {
  /** QUEUED runs now CANCELED. */
  canceled: number;
  /** RUNNING runs whose worker will stop at its next step and mark them CANCELED. */
  requested: number;
}

/**
 * One statement, so a run cannot slip between "queued" and "running" unnoticed: QUEUED runs become
 * CANCELED at once; RUNNING runs get cancelRequested (their worker sees it on its next heartbeat).
 */
async function cancelWhere(prisma: Db, filter: Prisma.Sql): Promise<CancelResult> {
  const rows = await prisma.$queryRaw<Array<{ was: RunStatusName }>>`
    WITH target AS (
      SELECT "id", "status" AS "was" FROM "Run"
      WHERE ${filter} AND "status" IN ('QUEUED', 'RUNNING')
      FOR UPDATE
    )
    UPDATE "Run" AS r SET
      "cancelRequested" = true,
      "status" = CASE WHEN t."was" = 'QUEUED' THEN 'CANCELED'::"RunStatus" ELSE r."status" END,
      "finishedAt" = CASE WHEN t."was" = 'QUEUED' THEN ${NOW} ELSE r."finishedAt" END,
      "updatedAt" = ${NOW}
    FROM target AS t
    WHERE r."id" = t."id"
    RETURNING t."was"::text AS "was"`;
  return {
    canceled: rows.filter((r) => r.was === "QUEUED").length,
    requested: rows.filter((r) => r.was === "RUNNING").length,
  };
}

export async function cancelRun(prisma: Db, runId: string): Promise<CancelResult> {
  return cancelWhere(prisma, Prisma.sql`"id" = ${runId}::uuid`);
}

/** Cancels every unfinished run of a grid (by id or name). */
export async function cancelGrid(prisma: Db, ref: string): Promise<CancelResult & { gridId: string }> {
  const grid = await resolveGrid(prisma, ref);
  return { gridId: grid.id, ...(await cancelWhere(prisma, Prisma.sql`"gridId" = ${grid.id}::uuid`)) };
}

/**
 * FAILED or CANCELED -> QUEUED with a fresh attempt budget; the step and checkpoint are kept, so it
 * resumes where it stopped, and attemptErrors keeps the history. Returns whether the run was requeued.
 */
export async function requeueRun(prisma: Db, runId: string): Promise<boolean> {
  const count = await prisma.$executeRaw`
    UPDATE "Run" SET "status" = 'QUEUED', "cancelRequested" = false, "attempts" = 0, "error" = NULL,
      "finishedAt" = NULL, "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = ${NOW}
    WHERE "id" = ${runId}::uuid AND "status" IN ('FAILED', 'CANCELED')`;
  return count > 0;
}

// ---------------------------------------------------------------------------------------------------
// Checkpoints (written while training; metric points go through appendMetricPoints)
// ---------------------------------------------------------------------------------------------------

export const CHECKPOINT_KIND = "checkpoint";
const CHECKPOINT_NAME = "latest";

export interface StoredCheckpoint {
  step: number;
  /** Bytes in the database, or a path on the shared checkpoint folder. */
  bytes: Uint8Array | null;
  path: string | null;
}

/**
 * Stores the run's latest checkpoint (bytes or a path) and the step it was taken at, only while
 * `workerId` holds the lease: a cut-off worker must not overwrite the checkpoint of the worker that
 * took its run over. Returns whether it was stored.
 */
export async function saveCheckpoint(
  prisma: Db,
  runId: string,
  workerId: string,
  checkpoint: { step: number; bytes?: Uint8Array | null; path?: string | null },
): Promise<boolean> {
  return prisma.$transaction(
    async (tx) => {
      const run = await lockRun(tx, runId);
      if (run.status !== "RUNNING" || run.leaseOwner !== workerId) return false;
      await upsertArtifact(tx, runId, {
        kind: CHECKPOINT_KIND,
        name: CHECKPOINT_NAME,
        mime: "application/octet-stream",
        bytes: checkpoint.bytes ?? null,
        path: checkpoint.path ?? null,
        step: checkpoint.step,
      });
      await tx.run.update({ where: { id: runId }, data: { step: checkpoint.step } });
      return true;
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

export async function loadCheckpoint(prisma: Db, runId: string): Promise<StoredCheckpoint | null> {
  const a = await prisma.artifact.findUnique({
    where: { runId_kind_name: { runId, kind: CHECKPOINT_KIND, name: CHECKPOINT_NAME } },
    select: { step: true, bytes: true, path: true },
  });
  if (!a) return null;
  return { step: a.step ?? 0, bytes: a.bytes ?? null, path: a.path ?? null };
}

// ---------------------------------------------------------------------------------------------------
// Worker registry
// ---------------------------------------------------------------------------------------------------

export interface WorkerInfo {
  id: string;
  host: string;
  pid?: number | null;
  backend?: string | null;
}

export async function registerWorker(prisma: Db, worker: WorkerInfo): Promise<void> {
  const data = { host: worker.host, pid: worker.pid ?? null, backend: worker.backend ?? null };
  await prisma.worker.upsert({
    where: { id: worker.id },
    create: { id: worker.id, ...data },
    update: { ...data, startedAt: new Date(), lastHeartbeat: new Date(), stoppedAt: null, currentRunId: null },
  });
}

/** The worker row's heartbeat (the dashboard shows workers silent for long as lost). */
export async function heartbeatWorker(prisma: Db, workerId: string, currentRunId: string | null): Promise<void> {
  await prisma.worker.updateMany({
    where: { id: workerId },
    data: { lastHeartbeat: new Date(), currentRunId },
  });
}

export async function stopWorker(prisma: Db, workerId: string): Promise<void> {
  await prisma.worker.updateMany({
    where: { id: workerId },
    data: { stoppedAt: new Date(), lastHeartbeat: new Date(), currentRunId: null },
  });
}
