/** Evaluations: per-run results, the study tables of a grid (or any runs), their exports, heatmaps. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { PrismaClient } from "@lml/db";
import { EXPORT_EXTENSION, EXPORT_FORMATS, EXPORT_MIME, exportTables } from "../export";
import { differingParams, METRICS, NORMS, TABLE_PROTOCOLS, TEST_SETS } from "../format";
import { buildStudyTables, significancePicks, type SignificancePick } from "../tables";
import type { EvaluationLike } from "../format";
import { publicProcedure, router, type Context } from "../trpc";

const tableInput = z
  .object({
    gridId: z.uuid().optional(),
    runIds: z.array(z.uuid()).min(1).max(5000).optional(),
    norm: z.enum(NORMS).default("inter-pupil"),
    metric: z.enum(METRICS).default("nme"),
    protocols: z
      .array(z.string().min(1).max(50))
      .min(1)
      .max(6)
      .default([...TABLE_PROTOCOLS]),
    testSets: z
      .array(z.string().min(1).max(50))
      .min(1)
      .max(8)
      .default([...TEST_SETS]),
    groupBy: z
      .array(z.string().regex(/^[A-Za-z0-9_.]+$/, "a dotted config path like model.stacks"))
      .max(4)
      .default([]),
    filter: z.record(z.string().regex(/^[A-Za-z0-9_.]+$/), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Include runs that have not succeeded (e.g. a cancelled run that still wrote evaluations). */
    allStatuses: z.boolean().default(false),
  })
  .strict()
  .refine((v) => v.gridId || v.runIds, { message: "give gridId or runIds", path: ["gridId"] });

/** What callers pass (defaults optional); `lml report` calls loadStudyTables with `{ gridId, norm, metric }`. */
export type StudyTablesInput = z.input<typeof tableInput>;

/**
 * Loads runs and their evaluations (under one norm) and builds the tables. Per-image errors (the bulk of
 * the bytes) are fetched only for the cells the significance test needs: each column's best and
 * runner-up rows.
 */
export async function loadStudyTables(prisma: PrismaClient, raw: StudyTablesInput) {
  const input = tableInput.parse(raw);
  const runWhere = {
    ...(input.gridId ? { gridId: input.gridId } : {}),
    ...(input.runIds ? { id: { in: input.runIds } } : {}),
    ...(input.allStatuses ? {} : { status: "SUCCEEDED" as const }),
  };
  const scalar = {
    runId: true,
    testSet: true,
    protocol: true,
    norm: true,
    nme: true,
    auc8: true,
    fr8: true,
    auc10: true,
    fr10: true,
    count: true,
  } as const;
  const [runs, rows, norms] = await Promise.all([
    prisma.run.findMany({ where: runWhere, select: { id: true, name: true, regime: true, seed: true, config: true, updatedAt: true } }),
    prisma.evaluation.findMany({ where: { norm: input.norm, run: runWhere }, select: scalar }),
    prisma.evaluation.groupBy({ by: ["norm"], where: { run: runWhere }, orderBy: { norm: "asc" } }),
  ]);
  const evaluations: EvaluationLike[] = rows.map((e) => ({ ...e, perImage: [] }));
  let tables = buildStudyTables(evaluations, runs, input);
  const picks = significancePicks(tables);
  if (picks.length) {
    // Any run written since (status, results, re-queue) moves updatedAt, so the stamp changes.
    const stamp = `${runs.length}:${evaluations.length}:${Math.max(0, ...runs.map((r) => r.updatedAt.getTime()))}`;
    tables = buildStudyTables(evaluations, runs, { ...input, perImageMeans: await perImageMeans(prisma, input.norm, picks, stamp) });
  }
  return {
    tables,
    runCount: runs.length,
    evaluationCount: evaluations.length,
    // Fields that vary across the runs: what "group by" and "only differing params" offer.
    params: differingParams(runs.map((r) => r.config)).filter((p) => p.path !== "seed"),
    norms: norms.map((n) => n.norm),
  };
}

/**
 * Per-image NME averaged over each cell's runs. Measured on the embedded PGlite: fetching the arrays
 * and averaging here beats averaging in SQL (unnest … GROUP BY), and a finished grid's vectors do not
 * change, so they are cached per server process under a stamp that any run update changes.
 * A cell whose runs scored different numbers of images gets an empty vector ("untestable").
 */
const meansCache = new Map<string, Map<string, number[]>>();
async function perImageMeans(prisma: PrismaClient, norm: string, picks: SignificancePick[], stamp: string): Promise<Map<string, number[]>> {
  const cacheKey = `${norm}|${stamp}|${picks.map((p) => `${p.cell}:${p.runId}:${p.protocol}`).join(",")}`;
  const hit = meansCache.get(cacheKey);
  if (hit) return hit;
  const rows = await prisma.evaluation.findMany({
    where: { norm, runId: { in: [...new Set(picks.map((p) => p.runId))] } },
    select: { runId: true, testSet: true, protocol: true, perImage: true },
  });
  const byKey = new Map(rows.map((e) => [`${e.runId}|${e.testSet}|${e.protocol}`, e.perImage]));
  const byCell = new Map<string, number[][]>();
  for (const p of picks) {
    const v = byKey.get(`${p.runId}|${p.testSet}|${p.protocol}`) ?? [];
    byCell.set(p.cell, [...(byCell.get(p.cell) ?? []), v]);
  }
  const out = new Map<string, number[]>();
  for (const [cell, vectors] of byCell) {
    const len = vectors[0].length;
    if (vectors.some((v) => v.length !== len)) {
      out.set(cell, []);
      continue;
    }
    const m = new Array<number>(len).fill(0);
    for (const v of vectors) for (let i = 0; i < len; i++) m[i] += v[i] / vectors.length;
    out.set(cell, m);
  }
  if (meansCache.size >= 64) meansCache.delete(meansCache.keys().next().value!);
  meansCache.set(cacheKey, out);
  return out;
}

async function scheme(ctx: Context, count: number) {
  const s = ctx.getScheme ? await ctx.getScheme(count) : null;
  if (!s) return null;
  return { id: s.id, count: s.count, names: s.names ?? null, groups: s.groups, template: Array.from(s.template) };
}

export const evaluationsRouter = router({
  byRun: publicProcedure.input(z.object({ runId: z.uuid() }).strict()).query(({ ctx, input }) =>
    ctx.prisma.evaluation.findMany({
      where: { runId: input.runId },
      orderBy: [{ protocol: "asc" }, { testSet: "asc" }, { norm: "asc" }],
      omit: { perImage: true },
    }),
  ),

  studyTables: publicProcedure.input(tableInput).query(({ ctx, input }) => loadStudyTables(ctx.prisma, input)),

  /** The tables as a file (a query: exporting changes nothing). */
  export: publicProcedure.input(z.object({ format: z.enum(EXPORT_FORMATS), table: tableInput }).strict()).query(async ({ ctx, input }) => {
    const { tables } = await loadStudyTables(ctx.prisma, input.table);
    let base = "results";
    if (input.table.gridId) {
      const grid = await ctx.prisma.grid.findUnique({ where: { id: input.table.gridId }, select: { name: true } });
      if (grid) base = grid.name.replace(/[^A-Za-z0-9._-]+/g, "-");
    }
    return {
      filename: `${base}-${input.table.metric}-${input.table.norm}.${EXPORT_EXTENSION[input.format]}`,
      mime: EXPORT_MIME[input.format],
      content: exportTables(tables, input.format),
    };
  }),

  /**
   * Per-landmark error of one evaluation on the face template of its scheme (68 or dense), for the
   * heatmap. `scheme` is null when no template with that point count is known.
   */
  landmarks: publicProcedure
    .input(
      z
        .object({
          runId: z.uuid(),
          testSet: z.string().min(1).max(50),
          protocol: z.string().min(1).max(50),
          norm: z.enum(NORMS),
        })
        .strict(),
    )
    .query(async ({ ctx, input }) => {
      const e = await ctx.prisma.evaluation.findUnique({
        where: { runId_testSet_protocol_norm: input },
        select: { perLandmark: true, nme: true, count: true },
      });
      if (!e)
        throw new TRPCError({
          code: "NOT_FOUND",
          message: `no evaluation ${input.testSet}/${input.protocol}/${input.norm} for run ${input.runId}`,
        });
      return {
        values: e.perLandmark,
        nme: e.nme,
        images: e.count,
        scheme: e.perLandmark.length ? await scheme(ctx, e.perLandmark.length) : null,
      };
    }),
});
