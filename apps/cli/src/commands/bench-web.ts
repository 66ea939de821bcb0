/**
 * `lml bench web [--json] [--runs N] [--iterations N] [--loads N]`: the dashboard's speed bench. It
 * lives with the web app (apps/web/bench/, beside the e2e harness it uses) and runs as the web app's
 * `bench` script, so no app imports another: this command only starts it and passes its flags on.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";

interface BenchOptions {
  json?: boolean;
  runs: string;
  iterations: string;
  loads: string;
}

export function register(bench: Command): void {
  bench
    .command("web")
    .description("dashboard speed: results and runs queries (p50/p95) and results-page first render, on N seeded runs")
    .option("--json", "print one JSON line")
    .option("--runs <n>", "runs to seed", "1000")
    .option("--iterations <n>", "timed calls per query", "30")
    .option("--loads <n>", "page loads timed in Chromium", "5")
    .action(async (opts: BenchOptions) => {
      const args = ["--runs", opts.runs, "--iterations", opts.iterations, "--loads", opts.loads, ...(opts.json ? ["--json"] : [])];
      // npm finds the workspace root from this package's folder and runs @lml/web's script there.
      const child = spawn("npm", ["run", "-s", "-w", "@lml/web", "bench", "--", ...args], {
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        stdio: "inherit",
      });
      const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
      process.exitCode = code;
    });
}
