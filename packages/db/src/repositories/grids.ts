// Grids: the list with run counts per status. (A grid and its runs are written by the queue's submitGrid.)
import { RUN_STATUSES, type RunStatusName } from "@lml/core";
import { z } from "zod";
import { parseInput } from "../errors";
import type { Grid, PrismaClient } from "../generated/prisma/client";

/** How many runs are in each status. */
export type StatusCounts = Record<RunStatusName, number>;

export interface GridSummary extends Grid {
  counts: StatusCounts;
  total: number;
}

const ListGridsInput = z.object({
  take: z.number().int().min(1).max(500).default(50),
  skip: z.number().int().min(0).default(0),
  name: z.string().optional(),
});

/** Zero runs in every status. */
export function emptyStatusCounts(): StatusCounts {
  return Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

/** Newest grids first, each with how many of its runs are in each status. */
export async function listGrids(prisma: PrismaClient, options: z.input<typeof ListGridsInput> = {}): Promise<GridSummary[]> {
  const { take, skip, name } = parseInput(ListGridsInput, options, "listGrids");
  const grids = await prisma.grid.findMany({
    where: name ? { name } : undefined,
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take,
    skip,
  });
  if (grids.length === 0) return [];
  const groups = await prisma.run.groupBy({
    by: ["gridId", "status"],
    where: { gridId: { in: grids.map((g) => g.id) } },
    _count: { _all: true },
  });
  const byGrid = new Map(grids.map((g) => [g.id, emptyStatusCounts()]));
  for (const g of groups) {
    const counts = g.gridId ? byGrid.get(g.gridId) : undefined;
    if (counts) counts[g.status] = g._count._all;
  }
  return grids.map((g) => {
    const counts = byGrid.get(g.id)!;
    return { ...g, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });
}
