/**
 * `lml bench chaos [--json] [--runs 12] [--workers 3] [--rounds 8] [--no-restart-postgres]`: the
 * reliability suite (issue 16). On a throwaway database of a PostgreSQL server ON THIS MACHINE
 * (LML_BENCH_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres), worker processes drain
 * a grid of step-trainer runs while workers are killed (SIGKILL), stopped (SIGTERM), frozen past their
 * lease (SIGSTOP/SIGCONT) and PostgreSQL is restarted (`pg_ctlcluster <version> main restart`; it
 * waits for the server to come back), in turn, on a bounded number of rounds. Then every run is
 * checked (@lml/training's worker/chaos.ts). Restarting PostgreSQL interrupts everyone using that
 * server: `--no-restart-postgres` cuts the throwaway database's connections instead.
 * `--json` prints ONE line: {"runs","succeeded","lost","duplicated","wrongResults","missingPoints",
 * "events","leaseExpiries","attempts","workersStarted","seconds","database"}. Exit 1 when a run was
 * lost, duplicated or has wrong results.
 */
import type { Command } from "commander";

interface ChaosFlags {
  json?: boolean;
  runs: string;
  workers: string;
  rounds: string;
  restartPostgres: boolean;
}

const DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres";

export function register(bench: Command): void {
  bench
    .command("chaos")
    .description("kill, stop and freeze workers and restart PostgreSQL while they drain a grid; prints runs lost and duplicated")
    .option("--json", "print one JSON line")
    .option("--runs <n>", "runs to queue first (more are queued while events remain)", "12")
    .option("--workers <n>", "worker processes", "3")
    .option("--rounds <n>", "chaos events (sigkill, sigterm, sigstop, outage in turn)", "8")
    .option("--no-restart-postgres", "cut the database's connections instead of restarting PostgreSQL")
    .action(async (flags: ChaosFlags) => {
      await benchChaos(flags);
    });
}

async function benchChaos(flags: ChaosFlags): Promise<void> {
  const { UsageError } = await import("@lml/core");
  const count = (flag: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > 1000)
      throw new UsageError(`${flag}: expected an integer from ${min} to 1000, got "${value}"`);
    return n;
  };
  const runs = count("--runs", flags.runs, 1);
  const workers = count("--workers", flags.workers, 2);
  const rounds = count("--rounds", flags.rounds, 0);
  const server = process.env.LML_BENCH_DATABASE_URL?.trim() || DEFAULT_SERVER;
  const { isLoopbackHost } = await import("@lml/api");
  const { probeDatabase, redactUrl } = await import("@lml/db");
  let host: string;
  try {
    host = new URL(server).hostname;
  } catch {
    throw new UsageError(`LML_BENCH_DATABASE_URL: not a URL: ${redactUrl(server)}`);
  }
  // It kills processes and restarts the server: never against another machine's.
  if (!isLoopbackHost(host))
    throw new UsageError(`${redactUrl(server)}: the chaos bench runs only against a PostgreSQL server on this machine (127.0.0.1)`);
  if ((await probeDatabase(server)).kind !== "postgres")
    throw new UsageError(`${redactUrl(server)} is the embedded PGlite; the chaos bench needs PostgreSQL: set LML_BENCH_DATABASE_URL`);

  const { runChaos } = await import("@lml/training/chaos");
  const report = await runChaos({
    serverUrl: server,
    runs,
    workers,
    rounds,
    restartPostgres: flags.restartPostgres,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (flags.json) process.stdout.write(JSON.stringify(report) + "\n");
  else
    process.stdout.write(
      `chaos: ${report.runs} runs, ${report.succeeded} succeeded, ${report.lost} lost, ${report.duplicated} duplicated, ` +
        `${report.wrongResults} with wrong results, ${report.missingPoints} curve points missing; events ${JSON.stringify(report.events)}, ` +
        `${report.leaseExpiries} lease expiries, ${report.attempts} attempts, ${report.seconds} s on ${report.database}\n`,
    );
  if (report.lost + report.duplicated + report.wrongResults > 0) process.exitCode = 1;
}
