/**
 * `lml bench web [--json] [--runs 1000,10000] [--db pglite|postgres] [--iterations N] [--loads N]
 * [--sse N] [--fresh] [--explain DIR]`: the dashboard's speed bench. It lives with the web app
 * (apps/web/bench/, beside the e2e harness it uses) and runs as the web app's `bench` script, so no
 * app imports another: this command only starts it and passes its flags on (the bench checks them).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";

interface BenchOptions {
  json?: boolean;
  runs: string;
  db: string;
  iterations: string;
  loads: string;
  sse: string;
  fresh?: boolean;
  explain?: string;
}

export function register(bench: Command): void {
  bench
    .command("web")
    .description(
      "dashboard speed at each size: results, runs and grids queries (p50/p95), results-page first render, the virtualised runs list, live-update latency",
    )
    .option("--json", "print one JSON line")
    .option("--runs <n,…>", "grid sizes (runs) to measure; each is seeded once and reused", "1000,10000")
    .option("--db <kind>", "pglite (the embedded default) | postgres (LML_BENCH_POSTGRES_URL or 127.0.0.1:5432)", "pglite")
    .option("--iterations <n>", "timed calls per query", "30")
    .option("--loads <n>", "page loads timed in Chromium", "5")
    .option("--sse <n>", "status flips timed from the database to an open page (0: skip)", "5")
    .option("--fresh", "seed the bench databases again")
    .option("--explain <dir>", "write EXPLAIN ANALYZE of the pages' queries to <dir>/explain-<db>-<runs>.txt")
    .action(async (opts: BenchOptions) => {
      const args = [
        ...["--runs", opts.runs, "--db", opts.db, "--iterations", opts.iterations, "--loads", opts.loads, "--sse", opts.sse],
        ...(opts.fresh ? ["--fresh"] : []),
        ...(opts.explain ? ["--explain", opts.explain] : []),
        ...(opts.json ? ["--json"] : []),
      ];
      // npm finds the workspace root from this package's folder and runs @lml/web's script there.
      const child = spawn("npm", ["run", "-s", "-w", "@lml/web", "bench", "--", ...args], {
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        stdio: "inherit",
      });
      const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
      process.exitCode = code;
    });
}
