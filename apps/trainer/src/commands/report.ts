/**
 * `lml report --grid <id|name> --format md|csv|latex [--norm inter-pupil|inter-ocular] [--metric nme]`:
 * the study's two tables (nearest-subset and test-time-MLP protocols; rows = regimes; columns =
 * synthetic test, common, challenging) as mean ± std over seeds with n, read from the database through
 * the same code the dashboard's results page uses, so both always show the same numbers.
 */
import type { Command } from "commander";

const FORMATS = ["md", "csv", "latex"] as const;
const NORMS = ["inter-pupil", "inter-ocular", "bbox"] as const;
const METRICS = ["nme", "auc8", "fr8", "auc10", "fr10"] as const;

export function register(program: Command): void {
  program
    .command("report")
    .description("the study's result tables (mean ± std over seeds) for a grid, from the database")
    .requiredOption("--grid <grid>", "grid id or name (a name means the newest grid of that name)")
    .option("--format <format>", `md | csv | latex`, "md")
    .option("--norm <norm>", "inter-pupil | inter-ocular | bbox", "inter-pupil")
    .option("--metric <metric>", "nme | auc8 | fr8 | auc10 | fr10", "nme")
    .action(async (opts: { grid: string; format: string; norm: string; metric: string }) => {
      const { UsageError } = await import("@lml/core");
      const pick = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
        if (!(allowed as readonly string[]).includes(value)) {
          throw new UsageError(`--${name} ${JSON.stringify(value)}: expected one of ${allowed.join(", ")}`);
        }
        return value as T;
      };
      const format = pick("format", opts.format, FORMATS);
      const norm = pick("norm", opts.norm, NORMS);
      const metric = pick("metric", opts.metric, METRICS);
      const { resolveGrid } = await import("@lml/db");
      const { loadStudyTables, exportTables } = await import("@lml/api");
      const { openQueueDatabase } = await import("../worker");
      const db = await openQueueDatabase();
      try {
        const grid = await resolveGrid(db.prisma, opts.grid);
        const result = await loadStudyTables(db.prisma, { gridId: grid.id, norm, metric });
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
      } finally {
        await db.close();
      }
    });
}
