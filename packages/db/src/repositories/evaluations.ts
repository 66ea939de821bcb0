// NME table cells: one per (run, test set, protocol, normalisation). A run has one set: writing replaces
// the run's evaluations whole. writeEvaluations is the one writer: completeRun calls it inside its
// lease-guarded transaction.
import { z } from "zod";
import { parseInput, rethrowConstraint } from "../errors";
import type { Evaluation, Prisma, PrismaClient } from "../generated/prisma/client";
import { Uuid } from "./runs";

const Floats = z.array(z.number());

export const NewEvaluation = z
  .object({
    testSet: z.string().min(1),
    protocol: z.string().min(1),
    norm: z.string().min(1),
    nme: z.number(),
    auc8: z.number(),
    fr8: z.number(),
    auc10: z.number(),
    fr10: z.number(),
    count: z.number().int().min(0),
    perLandmark: Floats.default([]),
    perImage: Floats.default([]),
    cedX: Floats.default([]),
    cedY: Floats.default([]),
    attempt: z.number().int().min(1).default(1),
  })
  .refine((e) => e.cedX.length === e.cedY.length, { message: "cedX and cedY must have the same length", path: ["cedY"] })
  .refine((e) => e.perImage.length === 0 || e.perImage.length === e.count, {
    message: "perImage must have one entry per image (count)",
    path: ["perImage"],
  });
export type NewEvaluation = z.input<typeof NewEvaluation>;

/**
 * Replaces the run's evaluations with these (so a retried attempt never leaves a stale cell beside its
 * own) and returns how many were written. `db` is a client or the caller's transaction: completeRun
 * passes its own, so the replacement is atomic there.
 */
export async function writeEvaluations(db: Prisma.TransactionClient, runId: string, evaluations: NewEvaluation[]): Promise<number> {
  const id = parseInput(Uuid, runId, "writeEvaluations: runId");
  const rows = parseInput(z.array(NewEvaluation), evaluations, "writeEvaluations: evaluations");
  try {
    await db.evaluation.deleteMany({ where: { runId: id } });
    if (rows.length > 0) await db.evaluation.createMany({ data: rows.map((e) => ({ runId: id, ...e })) });
  } catch (err) {
    rethrowConstraint(err, `writeEvaluations for run ${id}`);
  }
  return rows.length;
}

export async function listEvaluations(prisma: PrismaClient, runId: string): Promise<Evaluation[]> {
  const id = parseInput(Uuid, runId, "listEvaluations: runId");
  return prisma.evaluation.findMany({ where: { runId: id }, orderBy: [{ testSet: "asc" }, { protocol: "asc" }, { norm: "asc" }] });
}
