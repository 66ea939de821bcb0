// NME table cells: one per (run, test set, protocol, normalisation); a retried attempt overwrites.
import { z } from "zod";
import { parseInput, rethrowConstraint } from "../errors";
import type { Evaluation, PrismaClient } from "../generated/prisma/client";
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

/** Upserts each evaluation by (runId, testSet, protocol, norm) in one transaction. */
export async function writeEvaluations(prisma: PrismaClient, runId: string, evaluations: NewEvaluation[]): Promise<Evaluation[]> {
  const id = parseInput(Uuid, runId, "writeEvaluations: runId");
  const rows = parseInput(z.array(NewEvaluation), evaluations, "writeEvaluations: evaluations");
  try {
    return await prisma.$transaction(
      rows.map(({ testSet, protocol, norm, ...values }) =>
        prisma.evaluation.upsert({
          where: { runId_testSet_protocol_norm: { runId: id, testSet, protocol, norm } },
          create: { runId: id, testSet, protocol, norm, ...values },
          update: values,
        }),
      ),
    );
  } catch (err) {
    rethrowConstraint(err, `writeEvaluations for run ${id}`);
  }
}

export async function listEvaluations(prisma: PrismaClient, runId: string): Promise<Evaluation[]> {
  const id = parseInput(Uuid, runId, "listEvaluations: runId");
  return prisma.evaluation.findMany({ where: { runId: id }, orderBy: [{ testSet: "asc" }, { protocol: "asc" }, { norm: "asc" }] });
}
