/**
 * `lml report --grid <id|name> --format md|csv|latex [--norm inter-pupil|inter-ocular] [--metric nme]
 * [--reference]`: the study's two tables (nearest-subset and test-time-MLP protocols; rows = regimes;
 * columns = synthetic test, common, challenging) as mean ± std over seeds with n, read from the database
 * through the same code the dashboard's results page uses, so both always show the same numbers.
 * `--reference` adds the reference rows beside them (the study's published numbers, and the peers
 * measured by scripts/peers when docs/reference/peers-300w-common.json is present), never ranked.
 */
import type { Command } from "commander";
import { METRICS, NORM_KINDS } from "@lml/core/study";

const FORMATS = ["md", "csv", "latex"] as const;

interface ReportOptions {
  grid: string;
  reference?: boolean;
  format: string;
  norm: string;
  metric: string;
  heatmap?: string;
  heatmapRegimes: string;
  heatmapTestSet: string;
  heatmapProtocol: string;
}

type Prisma = import("@lml/db").PrismaClient;

/** Per-landmark errors averaged over each regime's succeeded seeds, drawn side by side. */
async function writeHeatmap(prisma: Prisma, grid: { id: string; name: string }, norm: string, opts: ReportOptions): Promise<void> {
  const { IBUG68, UsageError } = await import("@lml/core");
  const { heatmapFigureSvg } = await import("../report-figure");
  const regimes = opts.heatmapRegimes
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  const panels = [];
  for (const regime of regimes) {
    const evals = await prisma.evaluation.findMany({
      where: { testSet: opts.heatmapTestSet, protocol: opts.heatmapProtocol, norm, run: { gridId: grid.id, regime, status: "SUCCEEDED" } },
      select: { perLandmark: true, nme: true },
    });
    if (evals.length === 0) {
      throw new UsageError(
        `--heatmap: no ${opts.heatmapTestSet}/${opts.heatmapProtocol}/${norm} evaluations of regime "${regime}" in grid ${grid.name}`,
      );
    }
    const count = evals[0]!.perLandmark.length;
    const values = Array.from({ length: count }, (_, i) => evals.reduce((sum, e) => sum + (e.perLandmark[i] ?? NaN), 0) / evals.length);
    const nme = evals.reduce((sum, e) => sum + e.nme, 0) / evals.length;
    panels.push({
      title: regime,
      subtitle: `NME ${nme.toFixed(3)} (${opts.heatmapTestSet}, ${opts.heatmapProtocol}), mean of ${evals.length} seeds`,
      values,
    });
  }
  const count = panels[0]!.values.length;
  if (panels.some((p) => p.values.length !== count)) throw new UsageError(`--heatmap: the regimes have different point counts`);
  const scheme = count === 68 ? IBUG68 : (await import("@lml/synth")).getScheme(count);
  const svg = heatmapFigureSvg(
    scheme,
    panels,
    `grid ${grid.name}, ${norm} normalisation, ${count}-point ${count === 68 ? "iBug68" : "synthetic"} template`,
  );
  const sharp = (await import("sharp")).default;
  await sharp(Buffer.from(svg)).png().toFile(opts.heatmap!);
  process.stderr.write(`lml report: wrote ${opts.heatmap}\n`);
}

export function register(program: Command): void {
  program
    .command("report")
    .description("the study's result tables (mean ± std over seeds) for a grid, from the database")
    .requiredOption("--grid <grid>", "grid id or name (a name means the newest grid of that name)")
    .option("--format <format>", `md | csv | latex`, "md")
    .option("--norm <norm>", NORM_KINDS.join(" | "), "inter-pupil")
    .option("--metric <metric>", METRICS.join(" | "), "nme")
    .option("--reference", "add the reference rows: the study's published numbers and the measured peers (not ranked)")
    .option("--heatmap <png>", "also write per-landmark error heatmaps of two regimes side by side (PNG)")
    .option("--heatmap-regimes <a,b>", "regimes shown in the heatmap", "synthetic-only,syn-real-label-adaptation")
    .option("--heatmap-test-set <name>", "test set of the heatmap (dense points exist on synthetic-test)", "synthetic-test")
    .option("--heatmap-protocol <name>", "protocol of the heatmap (dense, nearest-subset, test-time-mlp, direct)", "dense")
    .action(async (opts: ReportOptions) => {
      const { UsageError } = await import("@lml/core");
      const pick = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
        if (!(allowed as readonly string[]).includes(value)) {
          throw new UsageError(`--${name} ${JSON.stringify(value)}: expected one of ${allowed.join(", ")}`);
        }
        return value as T;
      };
      const format = pick("format", opts.format, FORMATS);
      const norm = pick("norm", opts.norm, NORM_KINDS);
      const metric = pick("metric", opts.metric, METRICS);
      const { migrationState, resolveGrid } = await import("@lml/db");
      const { loadStudyTables, exportTables } = await import("@lml/api");
      const { openQueueDatabase } = await import("@lml/training/worker");
      const db = await openQueueDatabase();
      try {
        // A read-only command never migrates; it says so instead of failing on a missing column.
        const state = await migrationState((sql) => db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql));
        if (state.pending.length > 0)
          throw new UsageError(
            `database ${db.url} lacks ${state.pending.length} migration(s) (${state.pending.join(", ")}); apply them with \`npm run db:migrate\``,
            1,
          );
        const grid = await resolveGrid(db.prisma, opts.grid);
        const result = await loadStudyTables(db.prisma, { gridId: grid.id, norm, metric, reference: !!opts.reference });
        if (result.referenceError) throw new UsageError(`--reference: ${result.referenceError}`);
        if (result.runCount === 0) {
          throw new UsageError(`grid ${grid.name} (${grid.id}) has no succeeded runs yet: nothing to report`);
        }
        if (format === "md") {
          process.stdout.write(
            `<!-- lml report --grid ${grid.name} --norm ${norm} --metric ${metric}: ${result.runCount} succeeded runs, ` +
              `${result.evaluationCount} evaluations, grid ${grid.id} -->\n\n`,
          );
        }
        process.stdout.write(exportTables(result.tables, format) + (format === "csv" ? "" : "\n"));
        if (opts.heatmap) await writeHeatmap(db.prisma, grid, norm, opts);
      } finally {
        await db.close();
      }
    });
}
