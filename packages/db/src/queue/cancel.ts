/** Cancelling and re-queueing runs (`lml grid cancel/requeue`, the dashboard's buttons). */
import type { RunStatusName } from "@lml/core";
import { Prisma } from "../generated/prisma/client";
import { NOW, type Db } from "./run-row";
import { resolveGrid } from "./submit";

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
