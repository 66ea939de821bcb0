/**
 * What the queue's stages share about a Run row: the database clock, the row lock every lease-holder
 * write takes, and the log of failed attempts (Run.attemptErrors).
 */
import { Prisma, type PrismaClient, type Run } from "../generated/prisma/client";

export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

/**
 * The database's clock in Prisma's convention (`timestamp(3)` without time zone holding UTC): lease
 * times are never the worker's clock, so clock skew between machines cannot shorten or stretch a lease.
 */
export const NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

/** The columns a stage reads under the row lock to decide what it may write. */
export type LockedRun = Pick<Run, "status" | "leaseOwner" | "attempts" | "maxAttempts" | "cancelRequested" | "attemptErrors">;

/** Locks the run's row for the rest of the transaction (`FOR UPDATE`) and reads its lease state. */
export async function lockRun(tx: Tx, runId: string): Promise<LockedRun> {
  const rows = await tx.$queryRaw<LockedRun[]>`
    SELECT "status"::text AS "status", "leaseOwner", "attempts", "maxAttempts", "cancelRequested", "attemptErrors"
    FROM "Run" WHERE "id" = ${runId}::uuid FOR UPDATE`;
  if (!rows[0]) throw new Error(`run ${runId} does not exist`);
  return rows[0];
}

/** One entry of Run.attemptErrors. */
export interface AttemptError {
  attempt: number;
  worker: string | null;
  error: string;
  at: string;
}

/** Run.attemptErrors as a list (raw queries may return the jsonb as text). */
export function attemptErrorsOf(value: unknown): AttemptError[] {
  const parsed = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? (parsed as AttemptError[]) : [];
}

/** Run.error of a run that gives up: every attempt's reason. */
export function givingUpMessage(errors: AttemptError[]): string {
  const reasons = errors.map((e) => `attempt ${e.attempt} (${e.worker ?? "?"}): ${e.error}`).join("; ");
  return `failed after ${errors.length} attempt${errors.length === 1 ? "" : "s"}: ${reasons}`;
}
