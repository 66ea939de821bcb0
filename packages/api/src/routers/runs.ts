/** Runs: paginated list, one run with its evaluations and artifacts, curves, compare, cancel, re-queue. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { isActiveStatus } from "@lml/core";
import type { PrismaClient } from "@lml/db";
import { differingParams, flattenConfig, show } from "../format";
import { queue } from "../spec";
import { mutationProcedure, publicProcedure, router } from "../trpc";
import { idInput, pageInput, RUN_STATUSES } from "./shared";

const SORTABLE = ["createdAt", "name", "status", "regime", "seed", "progress", "startedAt", "finishedAt"] as const;

/** Curves of runs grouped by metric name, thinned to at most `maxPoints` per curve (evenly by index). */
export async function metricSeries(prisma: PrismaClient, runIds: string[], names: string[] | undefined, maxPoints: number) {
  const points = await prisma.metricPoint.findMany({
    where: { runId: { in: runIds }, ...(names?.length ? { name: { in: names } } : {}) },
    orderBy: [{ runId: "asc" }, { name: "asc" }, { step: "asc" }],
    select: { runId: true, name: true, step: true, epoch: true, value: true },
  });
  const series = new Map<string, { runId: string; name: string; points: { step: number; epoch: number | null; value: number }[] }>();
  for (const p of points) {
    const key = `${p.runId}\u0000${p.name}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { runId: p.runId, name: p.name, points: [] }));
    s.points.push({ step: p.step, epoch: p.epoch, value: p.value });
  }
  return [...series.values()].map((s) => {
    if (s.points.length <= maxPoints) return s;
    const stride = s.points.length / maxPoints;
    const thinned = Array.from({ length: maxPoints }, (_, i) => s.points[Math.floor(i * stride)]);
    thinned[thinned.length - 1] = s.points[s.points.length - 1]; // always keep the latest value
    return { ...s, points: thinned };
  });
}

const evaluationSelect = {
  id: true,
  testSet: true,
  protocol: true,
  norm: true,
  nme: true,
  auc8: true,
  fr8: true,
  auc10: true,
  fr10: true,
  count: true,
  cedX: true,
  cedY: true,
  attempt: true,
  createdAt: true,
} as const;

export const runsRouter = router({
  list: publicProcedure
    .input(
      z
        .object({
          ...pageInput,
          gridId: z.uuid().optional(),
          status: z.array(z.enum(RUN_STATUSES)).max(5).optional(),
          regime: z.string().max(100).optional(),
          search: z.string().max(200).optional(),
          sort: z.enum(SORTABLE).default("createdAt"),
          dir: z.enum(["asc", "desc"]).default("desc"),
        })
        .strict()
        .default({ page: 1, pageSize: 25, sort: "createdAt", dir: "desc" }),
    )
    .query(async ({ ctx, input }) => {
      const where = {
        ...(input.gridId ? { gridId: input.gridId } : {}),
        ...(input.status?.length ? { status: { in: input.status } } : {}),
        ...(input.regime ? { regime: input.regime } : {}),
        ...(input.search ? { name: { contains: input.search, mode: "insensitive" as const } } : {}),
      };
      const [total, items] = await Promise.all([
        ctx.prisma.run.count({ where }),
        ctx.prisma.run.findMany({
          where,
          orderBy: [{ [input.sort]: input.dir }, { id: "asc" }],
          skip: (input.page - 1) * input.pageSize,
          take: input.pageSize,
          select: {
            id: true,
            gridId: true,
            name: true,
            regime: true,
            seed: true,
            config: true,
            status: true,
            progress: true,
            step: true,
            totalSteps: true,
            attempts: true,
            error: true,
            createdAt: true,
            startedAt: true,
            finishedAt: true,
            leaseOwner: true,
          },
        }),
      ]);
      return { items, total, page: input.page, pageSize: input.pageSize };
    }),

  get: publicProcedure.input(idInput).query(async ({ ctx, input }) => {
    const run = await ctx.prisma.run.findUnique({
      where: { id: input.id },
      include: {
        grid: { select: { id: true, name: true } },
        artifacts: {
          select: { id: true, kind: true, name: true, mime: true, size: true, step: true, createdAt: true },
          orderBy: { createdAt: "asc" },
        },
        evaluations: { select: evaluationSelect, orderBy: [{ protocol: "asc" }, { testSet: "asc" }, { norm: "asc" }] },
      },
    });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: `no run ${input.id}` });
    const metricNames = await ctx.prisma.metricPoint.groupBy({ by: ["name"], where: { runId: run.id } });
    return { ...run, metricNames: metricNames.map((m) => m.name).sort() };
  }),

  metrics: publicProcedure
    .input(
      z
        .object({
          ids: z.array(z.uuid()).min(1).max(16),
          names: z.array(z.string().min(1).max(100)).max(50).optional(),
          maxPoints: z.number().int().min(10).max(20_000).default(2000),
        })
        .strict(),
    )
    .query(({ ctx, input }) => metricSeries(ctx.prisma, input.ids, input.names, input.maxPoints)),

  /** Two or more runs side by side: configs with the differing fields, evaluations, curve names. */
  compare: publicProcedure
    .input(z.object({ ids: z.array(z.uuid()).min(2, "pick at least two runs").max(8) }).strict())
    .query(async ({ ctx, input }) => {
      const runs = await ctx.prisma.run.findMany({
        where: { id: { in: input.ids } },
        include: { grid: { select: { id: true, name: true } }, evaluations: { select: { ...evaluationSelect, perLandmark: true } } },
      });
      const missing = input.ids.filter((id) => !runs.some((r) => r.id === id));
      if (missing.length) throw new TRPCError({ code: "NOT_FOUND", message: `no run ${missing.join(", ")}` });
      const ordered = input.ids.map((id) => runs.find((r) => r.id === id)!);
      const diff = differingParams(ordered.map((r) => r.config)).map((d) => ({
        path: d.path,
        values: ordered.map((r) => show(flattenConfig(r.config)[d.path])),
      }));
      const metricNames = await ctx.prisma.metricPoint.groupBy({ by: ["name"], where: { runId: { in: input.ids } } });
      return { runs: ordered, diff, metricNames: metricNames.map((m) => m.name).sort() };
    }),

  cancel: mutationProcedure.input(idInput).mutation(async ({ ctx, input }) => {
    const run = await ctx.prisma.run.findUnique({ where: { id: input.id }, select: { id: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: `no run ${input.id}` });
    return queue.cancelRun(ctx.prisma, input.id);
  }),

  requeue: mutationProcedure.input(idInput).mutation(async ({ ctx, input }) => {
    const run = await ctx.prisma.run.findUnique({ where: { id: input.id }, select: { status: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: `no run ${input.id}` });
    if (isActiveStatus(run.status))
      throw new TRPCError({ code: "BAD_REQUEST", message: `run is ${run.status.toLowerCase()}; only finished runs can be re-queued` });
    return queue.requeueRun(ctx.prisma, input.id);
  }),
});
