/** Grids: list with live progress, one grid, spec preview (validation + expansion), submit, cancel, re-queue. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { emptyStatusCounts, type PrismaClient } from "@lml/db";
import { MAX_SPEC_CHARS } from "../request-limits";
import { mutationProcedure, publicProcedure, rateLimited, router } from "../trpc";
import { idInput, pageInput, RUN_STATUSES, summarise, type RunStatusName, type StatusCounts } from "./shared";
import { previewSpec, queue } from "../spec";

/** Progress summaries of many grids in one grouped query (the list page polls this). */
export async function gridSummaries(prisma: PrismaClient, gridIds: string[], now = new Date()) {
  if (gridIds.length === 0) return new Map<string, ReturnType<typeof summarise>>();
  const groups = await prisma.run.groupBy({
    by: ["gridId", "status"],
    where: { gridId: { in: gridIds } },
    _count: { _all: true },
    _sum: { progress: true },
    _min: { startedAt: true },
    _max: { finishedAt: true },
  });
  const acc = new Map<string, { counts: StatusCounts; running: number; start: Date | null; end: Date | null }>();
  for (const id of gridIds) acc.set(id, { counts: emptyStatusCounts(), running: 0, start: null, end: null });
  for (const g of groups) {
    const a = acc.get(g.gridId!);
    if (!a) continue;
    a.counts[g.status as RunStatusName] = g._count._all;
    if (g.status === "RUNNING") a.running += g._sum.progress ?? 0;
    const s = g._min.startedAt;
    const e = g._max.finishedAt;
    if (s && (!a.start || s < a.start)) a.start = s;
    if (e && (!a.end || e > a.end)) a.end = e;
  }
  return new Map([...acc].map(([id, a]) => [id, summarise(a.counts, a.running, a.start, a.end, now)]));
}

const specInput = z
  .object({
    text: z.string().min(1, "the spec is empty").max(MAX_SPEC_CHARS, `the spec is longer than ${MAX_SPEC_CHARS} characters`),
    fileName: z.string().min(1).max(200).default("grid.yaml"),
  })
  .strict();
const submitInput = specInput.extend({ force: z.boolean().default(false) });

export const gridsRouter = router({
  list: publicProcedure
    .input(
      z
        .object({ ...pageInput, search: z.string().max(200).optional() })
        .strict()
        .default({ page: 1, pageSize: 25 }),
    )
    .query(async ({ ctx, input }) => {
      const where = input.search ? { name: { contains: input.search, mode: "insensitive" as const } } : {};
      const [total, grids] = await Promise.all([
        ctx.prisma.grid.count({ where }),
        ctx.prisma.grid.findMany({
          where,
          orderBy: { createdAt: "desc" },
          skip: (input.page - 1) * input.pageSize,
          take: input.pageSize,
          select: { id: true, name: true, createdAt: true, updatedAt: true },
        }),
      ]);
      const [summaries, byStatus] = await Promise.all([
        gridSummaries(
          ctx.prisma,
          grids.map((g) => g.id),
        ),
        ctx.prisma.run.groupBy({ by: ["status"], _count: { _all: true } }),
      ]);
      // Runs by status over every grid (not just this page), for the overview strip.
      const statusTotals = emptyStatusCounts();
      for (const s of byStatus) statusTotals[s.status as RunStatusName] = s._count._all;
      return {
        statusTotals,
        items: grids.map((g) => ({ ...g, ...summaries.get(g.id)! })),
        total,
        page: input.page,
        pageSize: input.pageSize,
        now: new Date(),
      };
    }),

  get: publicProcedure.input(idInput).query(async ({ ctx, input }) => {
    const grid = await ctx.prisma.grid.findUnique({ where: { id: input.id } });
    if (!grid) throw new TRPCError({ code: "NOT_FOUND", message: `no grid ${input.id}` });
    const summary = (await gridSummaries(ctx.prisma, [grid.id])).get(grid.id)!;
    // groupBy is SQL GROUP BY; Prisma's `distinct` would fetch every row and dedupe in memory.
    const regimes = await ctx.prisma.run.groupBy({ by: ["regime"], where: { gridId: grid.id }, orderBy: { regime: "asc" } });
    return { ...grid, ...summary, regimes: regimes.map((r) => r.regime), statuses: RUN_STATUSES };
  }),

  /** Validates a YAML/JSON spec with the CLI's schema and lists the runs it expands to; never writes. */
  preview: publicProcedure
    .use(rateLimited("grids.preview"))
    .input(specInput)
    .query(({ input }) => previewSpec(input.text, input.fileName)),

  /** Queues the grid; a grid of the same name is refused unless `force` (as `lml grid submit --force`). */
  submit: mutationProcedure
    .use(rateLimited("grids.submit"))
    .input(submitInput)
    .mutation(async ({ ctx, input }) => {
      const preview = previewSpec(input.text, input.fileName);
      if (!preview.ok) throw new TRPCError({ code: "BAD_REQUEST", message: preview.error });
      const grid = await queue.submitGrid(ctx.prisma, preview, input.text, input.force);
      return { id: grid.id, name: grid.name, runs: grid.runs };
    }),

  cancel: mutationProcedure.input(idInput).mutation(async ({ ctx, input }) => {
    const grid = await ctx.prisma.grid.findUnique({ where: { id: input.id }, select: { id: true } });
    if (!grid) throw new TRPCError({ code: "NOT_FOUND", message: `no grid ${input.id}` });
    return queue.cancelGrid(ctx.prisma, input.id);
  }),

  /** Puts every FAILED (and optionally CANCELED) run of the grid back in the queue. */
  requeueFailed: mutationProcedure
    .input(z.object({ id: z.uuid(), includeCanceled: z.boolean().default(false) }).strict())
    .mutation(async ({ ctx, input }) => {
      const statuses: RunStatusName[] = input.includeCanceled ? ["FAILED", "CANCELED"] : ["FAILED"];
      const runs = await ctx.prisma.run.findMany({ where: { gridId: input.id, status: { in: statuses } }, select: { id: true } });
      for (const r of runs) await queue.requeueRun(ctx.prisma, r.id);
      return { requeued: runs.length };
    }),
});
