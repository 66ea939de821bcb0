// Checkpoints, sample overlays, heatmaps: bytes in the database (or a path on a shared folder),
// one per (run, kind, name); putting the same key again replaces it. putArtifact is the one writer:
// the queue calls it inside its lease-guarded transactions (completeRun, saveCheckpoint).
import { z } from "zod";
import { parseInput, rethrowConstraint } from "../errors";
import type { Artifact, Prisma, PrismaClient } from "../generated/prisma/client";
import { Uuid } from "./runs";

export const NewArtifact = z
  .object({
    runId: Uuid,
    kind: z.string().min(1).max(100),
    name: z.string().min(1).max(500),
    mime: z.string().nullable().optional(),
    path: z.string().nullable().optional(),
    // Any Uint8Array (a Buffer, a view on a shared buffer): putArtifact copies it for Prisma.
    bytes: z
      .custom<Uint8Array>((v) => v instanceof Uint8Array, { error: "expected bytes (a Uint8Array)" })
      .nullable()
      .optional(),
    step: z.number().int().min(0).nullable().optional(),
  })
  .refine((a) => (a.bytes != null) !== (a.path != null), { message: "give exactly one of bytes or path", path: ["bytes"] });
export type NewArtifact = z.input<typeof NewArtifact>;

const ArtifactKey = z.object({ runId: Uuid, kind: z.string().min(1), name: z.string().min(1) });

/** Upserts the artifact by (runId, kind, name); `db` is a client or the caller's transaction. */
export async function putArtifact(db: Prisma.TransactionClient, artifact: NewArtifact): Promise<Omit<Artifact, "bytes">> {
  const a = parseInput(NewArtifact, artifact, "putArtifact");
  // Prisma's Bytes wants a Uint8Array<ArrayBuffer>; a Buffer or a view on a shared buffer is copied.
  const bytes = a.bytes ? new Uint8Array(a.bytes) : null;
  const values = { mime: a.mime ?? null, path: a.path ?? null, bytes, size: bytes?.byteLength ?? 0, step: a.step ?? null };
  try {
    return await db.artifact.upsert({
      where: { runId_kind_name: { runId: a.runId, kind: a.kind, name: a.name } },
      create: { runId: a.runId, kind: a.kind, name: a.name, ...values },
      update: values,
      omit: { bytes: true },
    });
  } catch (err) {
    rethrowConstraint(err, `putArtifact ${a.kind}/${a.name} for run ${a.runId}`);
  }
}

/** The artifact with its bytes, by id or by (runId, kind, name); null when absent. */
export async function getArtifact(prisma: PrismaClient, key: string | z.input<typeof ArtifactKey>): Promise<Artifact | null> {
  if (typeof key === "string") {
    return prisma.artifact.findUnique({ where: { id: parseInput(Uuid, key, "getArtifact: id") } });
  }
  const k = parseInput(ArtifactKey, key, "getArtifact");
  return prisma.artifact.findUnique({ where: { runId_kind_name: k } });
}

/** Artifacts of a run without their bytes (for listings). */
export async function listArtifacts(prisma: PrismaClient, runId: string, kind?: string): Promise<Omit<Artifact, "bytes">[]> {
  const id = parseInput(Uuid, runId, "listArtifacts: runId");
  return prisma.artifact.findMany({
    where: { runId: id, ...(kind ? { kind } : {}) },
    orderBy: [{ kind: "asc" }, { name: "asc" }],
    omit: { bytes: true },
  });
}
