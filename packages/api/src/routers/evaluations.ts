/** Evaluations: per-run results, the study tables of a grid (or any runs), their exports, heatmaps. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { PrismaClient } from "@lml/db";
import { EXPORT_EXTENSION, EXPORT_FORMATS, EXPORT_MIME, exportTables } from "../export";
import { cellKey, differingParams, METRICS, NORMS, TABLE_PROTOCOLS, TEST_SETS } from "../format";
import type { EvaluationLike, StudyRow, StudyTable } from "../format";
import { loadPeersFile, withReferences, type PeerReferenceFile } from "../reference";
import { BoundedCache, digest, pairedTests, resultsCacheStats, runsFingerprint } from "../results-cache";
import { assembleStudyTables, columnPairs, markBest, pairedTest, perImageMean, type ColumnPair, type PairedTest } from "../tables";
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
    /** Attach the reference rows (published numbers, peers measured on our crops) beside each table. */
    reference: z.boolean().default(false),
  })
  .strict()
  .refine((v) => v.gridId || v.runIds, { message: "give gridId or runIds", path: ["gridId"] });

/** What callers pass (defaults optional); `lml report` calls loadStudyTables with `{ gridId, norm, metric }`. */
export type StudyTablesInput = z.input<typeof tableInput>;

export interface StudyTablesResult {
  tables: StudyTable[];
  runCount: number;
  evaluationCount: number;
  /** Fields that vary across the runs: what "group by" and "only differing params" offer. */
  params: { path: string; values: string[] }[];
  /** Normalisations the runs were evaluated under. */
  norms: string[];
  /** Why the peer reference rows are missing although asked for (a bad peers file), else null. */
  referenceError: string | null;
}

type TableQuery = Omit<z.output<typeof tableInput>, "reference">;

/** Whole results by fingerprint and query (see results-cache.ts); a promise, so concurrent views share one build. */
const results = new BoundedCache<string, Promise<Omit<StudyTablesResult, "referenceError">>>(64);

/**
 * The study tables of a grid (or of runs): from the cache while the runs they read have not changed
 * (one index-only query), else built and cached. With `reference`, the published and peer rows are
 * attached beside each table.
 */
export async function loadStudyTables(prisma: PrismaClient, raw: StudyTablesInput): Promise<StudyTablesResult> {
  const { reference, ...query } = tableInput.parse(raw);
  const fingerprint = await runsFingerprint(prisma, query);
  const key = JSON.stringify([fingerprint, query]);
  let pending = results.get(key);
  if (!pending) {
    pending = buildTables(prisma, query);
    results.set(key, pending);
    pending.catch(() => results.delete(key));
  }
  const built = await pending;
  if (!reference) return { ...built, referenceError: null };
  let peers: PeerReferenceFile | null = null;
  let referenceError: string | null = null;
  try {
    peers = loadPeersFile();
  } catch (err) {
    referenceError = err instanceof Error ? err.message : String(err);
  }
  return { ...built, tables: withReferences(built.tables, peers), referenceError };
}

/**
 * Reads the runs and their scalar evaluations (under one norm) and builds the tables; per-image errors
 * (the bulk of the bytes) only for the paired tests not cached yet.
 */
async function buildTables(prisma: PrismaClient, query: TableQuery): Promise<Omit<StudyTablesResult, "referenceError">> {
  const runWhere = {
    ...(query.gridId ? { gridId: query.gridId } : {}),
    ...(query.runIds ? { id: { in: query.runIds } } : {}),
    ...(query.allStatuses ? {} : { status: "SUCCEEDED" as const }),
  };
  const scalar = {
    id: true,
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
  resultsCacheStats.tableBuilds++;
  const [runs, rows, norms] = await Promise.all([
    // Submission order: a cell's mean sums its seeds in this order, so the numbers never depend on
    // where rows happen to lie on disk.
    prisma.run.findMany({
      where: runWhere,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: { id: true, regime: true, seed: true, config: true },
    }),
    prisma.evaluation.findMany({ where: { norm: query.norm, run: runWhere }, select: scalar }),
    prisma.evaluation.groupBy({ by: ["norm"], where: { run: runWhere }, orderBy: { norm: "asc" } }),
  ]);
  const evaluations: EvaluationLike[] = rows.map((e) => ({ ...e, perImage: [] }));
  const { tables, sources } = assembleStudyTables(evaluations, runs, query);
  const pairs = columnPairs(tables);
  const tests = await testPairs(prisma, pairs, sources);
  markBest(pairs, (pair) => tests.get(pair) ?? null);
  return {
    tables,
    runCount: runs.length,
    evaluationCount: evaluations.length,
    params: differingParams(runs.map((r) => r.config)).filter((p) => p.path !== "seed"),
    norms: norms.map((n) => n.norm),
  };
}

/**
 * The paired test of every column's best and runner-up cells: from the cache when those cells average
 * the same evaluation rows as before, else computed from their per-image errors, fetched by id for
 * the missing pairs only.
 */
async function testPairs(prisma: PrismaClient, pairs: ColumnPair[], sources: Map<string, EvaluationLike[]>) {
  const cellOf = (pair: ColumnPair, row: StudyRow) => sources.get(cellKey(pair.table.protocol, row.key, pair.testSet)) ?? [];
  const out = new Map<ColumnPair, PairedTest>();
  const missing: { pair: ColumnPair; key: string; a: EvaluationLike[]; b: EvaluationLike[] }[] = [];
  for (const pair of pairs) {
    if (!pair.next) continue;
    const a = cellOf(pair, pair.best);
    const b = cellOf(pair, pair.next);
    const key = digest([String(pair.table.alpha), ...a.map((e) => e.id!), "|", ...b.map((e) => e.id!)]);
    const hit = pairedTests.get(key);
    if (hit !== undefined) out.set(pair, hit);
    else missing.push({ pair, key, a, b });
  }
  if (missing.length === 0) return out;
  const ids = [...new Set(missing.flatMap((m) => [...m.a, ...m.b].map((e) => e.id!)))];
  const perImage = new Map<string, number[]>();
  for (let i = 0; i < ids.length; i += PER_IMAGE_CHUNK) {
    const rows = await prisma.evaluation.findMany({
      where: { id: { in: ids.slice(i, i + PER_IMAGE_CHUNK) } },
      select: { id: true, perImage: true },
    });
    for (const r of rows) perImage.set(r.id, r.perImage);
  }
  const mean = (cell: EvaluationLike[]) => perImageMean(cell.map((e) => perImage.get(e.id!) ?? []));
  for (const m of missing) {
    const test = pairedTest(mean(m.a), mean(m.b), m.pair.table.alpha);
    resultsCacheStats.pairTestsComputed++;
    pairedTests.set(m.key, test);
    out.set(m.pair, test);
  }
  return out;
}
const PER_IMAGE_CHUNK = 2000;

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
