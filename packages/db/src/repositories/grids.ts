// Grids: creating one with all its runs, and the dashboard's list with run counts per status.
import { z } from "zod";
import { parseInput, rethrowConstraint } from "../errors";
import { type Grid, type PrismaClient, type Run, RunStatus } from "../generated/prisma/client";

const Json = z.json();

export const NewRun = z.object({
  name: z.string().min(1),
  regime: z.string().min(1),
  /** Full training config; validated against @lml/core's RunConfig by whoever expands the grid. */
  config: Json,
  seed: z.number().int(),
  priority: z.number().int().optional(),
  maxAttempts: z.number().int().min(1).optional(),
  totalSteps: z.number().int().min(0).optional(),
  codeVersion: z.string().optional(),
});
export type NewRun = z.input<typeof NewRun>;

const CreateGridInput = z.object({
  spec: z.object({ name: z.string().min(1) }).passthrough(),
  specText: z.string().nullable(),
  runs: z
    .array(NewRun)
    .min(1, "a grid needs at least one run")
    .superRefine((runs, ctx) => {
      // Run names identify cells on the dashboard and in exports, so they must be unique per grid.
      const seen = new Set<string>();
      runs.forEach((r, i) => {
        if (seen.has(r.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate run name "${r.name}"` });
        seen.add(r.name);
      });
    }),
});

/** Creates the grid and one QUEUED run per cell in one transaction (all or nothing). */
export async function createGrid(
  prisma: PrismaClient,
  spec: { name: string } & Record<string, unknown>,
  specText: string | null,
  runs: NewRun[],
): Promise<Grid & { runs: Run[] }> {
  const input = parseInput(CreateGridInput, { spec, specText, runs }, "createGrid");
  try {
    return await prisma.$transaction(async (tx) => {
      const grid = await tx.grid.create({ data: { name: input.spec.name, spec: input.spec as object, specText: input.specText } });
      await tx.run.createMany({
        data: input.runs.map((r) => ({ ...r, config: r.config as object, gridId: grid.id })),
      });
      const created = await tx.run.findMany({ where: { gridId: grid.id }, orderBy: [{ createdAt: "asc" }, { name: "asc" }] });
      return { ...grid, runs: created };
    });
  } catch (err) {
    rethrowConstraint(err, `createGrid "${input.spec.name}"`);
  }
}

export type StatusCounts = Record<RunStatus, number>;

export interface GridSummary extends Grid {
  counts: StatusCounts;
  total: number;
}

const ListGridsInput = z.object({
  take: z.number().int().min(1).max(500).default(50),
  skip: z.number().int().min(0).default(0),
  name: z.string().optional(),
});

function emptyCounts(): StatusCounts {
  return Object.fromEntries(Object.values(RunStatus).map((s) => [s, 0])) as StatusCounts;
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
  const byGrid = new Map(grids.map((g) => [g.id, emptyCounts()]));
  for (const g of groups) {
    const counts = g.gridId ? byGrid.get(g.gridId) : undefined;
    if (counts) counts[g.status] = g._count._all;
  }
  return grids.map((g) => {
    const counts = byGrid.get(g.id)!;
    return { ...g, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });
}
