/** The worker registry: which trainer processes exist, when each last heart-beat, what it runs. */
import type { Worker } from "../generated/prisma/client";
import { NOW, type Db } from "./run-row";

export interface WorkerInfo extends Pick<Worker, "id" | "host"> {
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

/**
 * The worker row's heartbeat (the dashboard shows workers silent for long as lost), by the database
 * clock: requeueExpired compares it with lease times to say why a lease ran out.
 */
export async function heartbeatWorker(prisma: Db, workerId: string, currentRunId: string | null): Promise<void> {
  await prisma.$executeRaw`
    UPDATE "Worker" SET "lastHeartbeat" = ${NOW}, "currentRunId" = ${currentRunId}::uuid WHERE "id" = ${workerId}`;
}

export async function stopWorker(prisma: Db, workerId: string): Promise<void> {
  await prisma.$executeRaw`
    UPDATE "Worker" SET "stoppedAt" = ${NOW}, "lastHeartbeat" = ${NOW}, "currentRunId" = NULL WHERE "id" = ${workerId}`;
}

/** Workers not stopped that heart-beat within the last `withinMs` (database clock). */
export async function liveWorkerCount(prisma: Db, withinMs: number): Promise<number> {
  const rows = await prisma.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS "n" FROM "Worker"
    WHERE "stoppedAt" IS NULL AND "lastHeartbeat" > ${NOW} - ${Math.round(withinMs)}::int * interval '1 millisecond'`;
  return rows[0]?.n ?? 0;
}
