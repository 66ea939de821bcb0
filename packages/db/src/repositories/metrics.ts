// Training curves: points are written in batches by workers that may retry, so a write is an upsert
// keyed by (runId, name, step): writing the same batch twice leaves one row per key.
import { z } from "zod";
import { parseInput, rethrowConstraint } from "../errors";
import type { PrismaClient } from "../generated/prisma/client";
import { Uuid } from "./runs";

export const NewMetricPoint = z.object({
  name: z.string().min(1).max(200),
  step: z.number().int().min(0),
  // NaN is kept: a diverged loss is a result worth plotting, not a reason to drop the batch.
  value: z.union([z.number(), z.nan()]),
  epoch: z.number().nullable().optional(),
});
export type NewMetricPoint = z.input<typeof NewMetricPoint>;

// Rows per INSERT; each row is 4 array elements, far below any parameter limit since arrays are 1 param.
const CHUNK = 5000;

/** Upserts the points for one run; returns how many distinct (name, step) keys were written. */
export async function appendMetricPoints(prisma: PrismaClient, runId: string, points: NewMetricPoint[]): Promise<number> {
  const id = parseInput(Uuid, runId, "appendMetricPoints: runId");
  const parsed = parseInput(z.array(NewMetricPoint), points, "appendMetricPoints: points");
  // ON CONFLICT DO UPDATE cannot touch one row twice in a statement: keep the last point per key.
  const byKey = new Map<string, (typeof parsed)[number]>();
  for (const p of parsed) byKey.set(`${p.name}\u0000${p.step}`, p);
  const rows = [...byKey.values()];
  try {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      // One statement per chunk via unnest (a createMany cannot update on conflict). Values travel as
      // text because a NaN in a float array parameter is sent as null; "NaN"::float8 is NaN.
      await prisma.$executeRaw`
        INSERT INTO "MetricPoint" ("runId", "name", "step", "epoch", "value")
        SELECT ${id}::uuid, t.name, t.step, t.epoch, t.value::float8
        FROM unnest(${chunk.map((p) => p.name)}::text[], ${chunk.map((p) => p.step)}::int[],
                    ${chunk.map((p) => p.epoch ?? null)}::float8[], ${chunk.map((p) => String(p.value))}::text[])
             AS t(name, step, epoch, value)
        ON CONFLICT ("runId", "name", "step") DO UPDATE SET "value" = EXCLUDED."value", "epoch" = EXCLUDED."epoch"`;
    }
  } catch (err) {
    rethrowConstraint(err, `appendMetricPoints for run ${id}`);
  }
  return rows.length;
}

/** Points of one run (optionally one curve), ordered by name then step. */
export async function getMetricPoints(prisma: PrismaClient, runId: string, name?: string) {
  const id = parseInput(Uuid, runId, "getMetricPoints: runId");
  return prisma.metricPoint.findMany({
    where: { runId: id, ...(name ? { name } : {}) },
    orderBy: [{ name: "asc" }, { step: "asc" }],
  });
}
