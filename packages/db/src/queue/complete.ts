/**
 * Finishing a run: its results and SUCCEEDED, a failed attempt (retried, or FAILED at once when the
 * error would only repeat), or the worker's answer to a cancel request. Every write here is guarded by
 * the lease: `leaseOwner = workerId AND status = 'RUNNING'` under the row lock.
 */
import type { RunStatusName } from "@lml/core";
import type { Prisma } from "../generated/prisma/client";
import { putArtifact, type NewArtifact } from "../repositories/artifacts";
import { writeEvaluations, type NewEvaluation } from "../repositories/evaluations";
import { attemptErrorsOf, givingUpMessage, lockRun, NOW, type Db } from "./run-row";

/**
 * One evaluation as the trainer hands it over: the repositories' NewEvaluation (the Evaluation model's
 * fields); its `attempt` is ignored here, completeRun stamps the attempt that holds the lease.
 */
export type EvaluationInput = NewEvaluation;

/** One artifact of a run: bytes stored in the database, or a path on a folder every reader can see. */
export type ArtifactInput = Omit<NewArtifact, "runId">;

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
  { written: true } | { written: false; reason: "already-succeeded" | "lease-lost" | "canceled"; status: RunStatusName };

/**
 * Writes a run's results and marks it SUCCEEDED in ONE transaction, holding the run's row lock: the
 * evaluations (replacing any, so there is only ever one set), the artifacts (upserted by kind and
 * name), the status. Idempotent: calling it again after a lost connection, when the first call had
 * in fact committed, returns `already-succeeded` and writes nothing; a worker whose lease was lost
 * (or a stale attempt) gets `lease-lost` and writes nothing. A cancel requested before the results
 * are written wins (`canceled`): the run is CANCELED, its results are not written, its checkpoint is
 * kept (a re-queue resumes it and evaluates again).
 */
export async function completeRun(prisma: Db, input: CompleteRunInput): Promise<CompleteRunResult> {
  return prisma.$transaction(
    async (tx) => {
      const run = await lockRun(tx, input.runId);
      if (run.status === "SUCCEEDED") return { written: false, reason: "already-succeeded", status: run.status };
      if (run.status !== "RUNNING" || run.leaseOwner !== input.workerId || run.attempts !== input.attempt)
        return { written: false, reason: "lease-lost", status: run.status };
      if (run.cancelRequested) {
        await tx.run.update({
          where: { id: input.runId },
          data: { status: "CANCELED", leaseOwner: null, leaseExpiresAt: null, finishedAt: new Date() },
        });
        return { written: false, reason: "canceled", status: "CANCELED" } as const;
      }
      await writeEvaluations(
        tx,
        input.runId,
        input.evaluations.map((e) => ({ ...e, attempt: input.attempt })),
      );
      for (const artifact of input.artifacts ?? []) await putArtifact(tx, { ...artifact, runId: input.runId });
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
  /**
   * Whether the error may pass on another attempt (default true): a crash, an out-of-memory, a lost
   * connection. Pass false for deterministic errors — a config the trainer rejects, data that is not
   * there (a UsageError) — which would fail the same way on every attempt: the run is FAILED at once
   * instead of being rendered and retried maxAttempts times.
   */
  retry?: boolean;
}

/**
 * Records a failed attempt (the training threw). The run is QUEUED again while attempts remain and
 * `retry` is not false, otherwise FAILED with every attempt's reason; CANCELED if a cancel was pending.
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
