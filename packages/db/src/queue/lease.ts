/**
 * Claiming runs and holding them: the claim, the heartbeat that extends a lease, giving a run back on
 * shutdown, and taking back the runs of workers that stopped heart-beating.
 */
import type { RunStatusName } from "@lml/core";
import type { Prisma, Run } from "../generated/prisma/client";
import { attemptErrorsOf, givingUpMessage, NOW, type Db } from "./run-row";

/** A run as its worker receives it. `attempt` is this claim's attempt number (1 = first). */
export interface ClaimedRun extends Pick<Run, "id" | "gridId" | "name" | "regime" | "config" | "seed" | "maxAttempts"> {
  attempt: number;
  /** Step reached by earlier attempts (their last checkpoint); 0 on a fresh run. */
  step: number;
  leaseExpiresAt: Date;
}

type ClaimRow = Pick<Run, "id" | "gridId" | "name" | "regime" | "config" | "seed" | "attempts" | "maxAttempts" | "step"> & {
  leaseExpiresAt: Date;
};

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
    // A raw query may hand jsonb back as text.
    config: typeof row.config === "string" ? (JSON.parse(row.config) as Prisma.JsonValue) : row.config,
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
  const rows = await prisma.$queryRaw<Array<Pick<Run, "cancelRequested">>>`
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
  const rows = await prisma.$queryRaw<Array<Pick<Run, "status">>>`
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

export interface RequeueResult {
  requeued: string[];
  failed: string[];
  canceled: string[];
}

type ExpiredRow = Pick<Run, "id" | "attempts" | "maxAttempts" | "leaseOwner" | "cancelRequested" | "attemptErrors" | "updatedAt"> & {
  leaseExpiresAt: Date;
  now: Date;
  /** The lease owner's Worker row, when it has one. */
  workerSeen: Date | null;
  workerStopped: Date | null;
};

/**
 * Why a lease ran out, as far as the database can tell from the owner's Worker row: the worker
 * stopped, is still heart-beating but did not renew the lease, or went silent. A worker renews the
 * lease and then heart-beats its row in one beat (@lml/training's lease-keeping thread), so a dead
 * worker's last heartbeat is about the lease's last renewal (the run's updatedAt), while a live one
 * heart-beats at least every quarter lease: "alive" is a heartbeat past the middle of the last lease.
 */
function expiryReason(row: ExpiredRow): string {
  const expired = `lease expired at ${row.leaseExpiresAt.toISOString()}`;
  const worker = `worker ${row.leaseOwner ?? "?"}`;
  if (!row.workerSeen) return `${expired}: ${worker} never registered (killed, crashed or cut off before its first heartbeat)`;
  if (row.workerStopped) return `${expired}: ${worker} stopped at ${row.workerStopped.toISOString()} without giving the run back`;
  const leaseMiddle = (row.updatedAt.getTime() + row.leaseExpiresAt.getTime()) / 2;
  if (row.workerSeen.getTime() > leaseMiddle)
    return `${expired}: ${worker} is still alive (last heartbeat ${row.workerSeen.toISOString()}) but did not renew the lease (see its log)`;
  return `${expired}: ${worker} silent since ${row.workerSeen.toISOString()} (killed, crashed or cut off)`;
}

/**
 * Takes back every RUNNING run whose lease has expired (its worker died, was killed or cut off):
 * QUEUED again so that the next worker resumes it from its checkpoint, FAILED with each attempt's
 * reason once its attempts reach maxAttempts, or CANCELED if a cancel was pending. Rows another
 * transaction holds (a late heartbeat) are skipped, and re-examined on the next call. Each attempt's
 * reason says what the owner's Worker row shows (expiryReason).
 */
export async function requeueExpired(prisma: Db): Promise<RequeueResult> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<ExpiredRow[]>`
      SELECT r."id", r."attempts", r."maxAttempts", r."leaseOwner", r."leaseExpiresAt", r."cancelRequested",
             r."attemptErrors", r."updatedAt", ${NOW} AS "now", w."lastHeartbeat" AS "workerSeen", w."stoppedAt" AS "workerStopped"
      FROM "Run" AS r LEFT JOIN "Worker" AS w ON w."id" = r."leaseOwner"
      WHERE r."status" = 'RUNNING' AND r."leaseExpiresAt" < ${NOW}
      FOR UPDATE OF r SKIP LOCKED`;
    const result: RequeueResult = { requeued: [], failed: [], canceled: [] };
    for (const row of rows) {
      const errors = [
        ...attemptErrorsOf(row.attemptErrors),
        { attempt: row.attempts, worker: row.leaseOwner, error: expiryReason(row), at: row.now.toISOString() },
      ];
      const status: RunStatusName = row.cancelRequested ? "CANCELED" : row.attempts >= row.maxAttempts ? "FAILED" : "QUEUED";
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

/** A run some worker holds: its lease, as the database sees it now. */
export interface HeldLease {
  id: string;
  name: string;
  leaseOwner: string | null;
  leaseExpiresAt: Date;
  /** Milliseconds until the lease expires (negative: expired, not yet taken back). */
  expiresInMs: number;
}

/** Every RUNNING run's lease (optionally one grid's), by the database clock. */
export async function heldLeases(prisma: Db, gridId?: string): Promise<HeldLease[]> {
  const rows = await prisma.$queryRaw<Array<Omit<HeldLease, "expiresInMs"> & { now: Date }>>`
    SELECT "id", "name", "leaseOwner", "leaseExpiresAt", ${NOW} AS "now"
    FROM "Run"
    WHERE "status" = 'RUNNING' AND "leaseExpiresAt" IS NOT NULL
      AND (${gridId ?? null}::uuid IS NULL OR "gridId" = ${gridId ?? null}::uuid)
    ORDER BY "leaseExpiresAt"`;
  return rows.map(({ now, ...r }) => ({ ...r, expiresInMs: r.leaseExpiresAt.getTime() - now.getTime() }));
}
