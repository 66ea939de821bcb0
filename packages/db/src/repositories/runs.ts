// Reading one run (the run page and the worker both start here).
import { z } from "zod";
import { parseInput } from "../errors";
import type { Grid, PrismaClient, Run } from "../generated/prisma/client";

export const Uuid = z.uuid();

export type RunWithGrid = Run & { grid: Pick<Grid, "id" | "name"> | null };

/** The run with its grid's id and name, or null when there is no such run. */
export async function getRun(prisma: PrismaClient, id: string): Promise<RunWithGrid | null> {
  const runId = parseInput(Uuid, id, "getRun: id");
  return prisma.run.findUnique({ where: { id: runId }, include: { grid: { select: { id: true, name: true } } } });
}
