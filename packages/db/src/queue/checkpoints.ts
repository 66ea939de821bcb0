/** A running run's latest checkpoint (written while training; metric points go through appendMetricPoints). */
import type { Artifact } from "../generated/prisma/client";
import { putArtifact } from "../repositories/artifacts";
import { lockRun, type Db } from "./run-row";

export const CHECKPOINT_KIND = "checkpoint";
const CHECKPOINT_NAME = "latest";

export interface StoredCheckpoint extends Pick<Artifact, "bytes" | "path"> {
  step: number;
}

/**
 * Stores the run's latest checkpoint (bytes, or a path on the shared checkpoint folder) and the step
 * it was taken at, only while `workerId` holds the lease: a cut-off worker must not overwrite the
 * checkpoint of the worker that took its run over. Returns whether it was stored.
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
      await putArtifact(tx, {
        runId,
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
