/**
 * `lml bench queue [--json] [--workers 8] [--runs 400]`: the queue's throughput and its exactly-once
 * guarantee, measured. Creates a scratch database on a PostgreSQL server (LML_BENCH_DATABASE_URL,
 * else DATABASE_URL when it is PostgreSQL, else postgresql://postgres@127.0.0.1:5432/postgres),
 * migrates it, queues N no-op runs, lets W full worker loops (each its own connection pool) drain the
 * queue, checks that no run was claimed twice, and drops the database.
 * `--json` prints ONE line: {"claimsPerSec","doubleClaims","workers","runs","database"}.
 */
import type { Command } from "commander";

interface BenchOptions {
  json?: boolean;
  workers: string;
  runs: string;
}

export function register(bench: Command): void {
  bench
    .command("queue")
    .description("W workers drain N no-op runs from PostgreSQL; prints claims per second and double claims")
    .option("--json", "print one JSON line")
    .option("--workers <n>", "concurrent workers", "8")
    .option("--runs <n>", "no-op runs to queue", "400")
    .action(async (opts: BenchOptions) => {
      await benchQueue(opts);
    });
}

const DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres";

async function benchQueue(opts: BenchOptions): Promise<void> {
  const { UsageError } = await import("@lml/core");
  const workers = Number(opts.workers);
  const runs = Number(opts.runs);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers: expected a positive integer, got "${opts.workers}"`);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs: expected a positive integer, got "${opts.runs}"`);

  const { randomBytes } = await import("node:crypto");
  const pg = (await import("pg")).default;
  const db = await import("@lml/db");
  const { runWorker } = await import("@lml/training/worker");
  const pino = (await import("pino")).default;

  const server = await pickServer(db);
  const probe = await db.probeDatabase(server);
  if (probe.kind !== "postgres")
    throw new UsageError(
      `${db.redactUrl(server)} is the embedded PGlite (one writer at a time); the queue bench needs PostgreSQL: set LML_BENCH_DATABASE_URL`,
    );
  const database = probe.serverVersion.match(/^PostgreSQL [\d.]+/)?.[0] ?? "PostgreSQL";

  const name = `lml_bench_queue_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  admin.on("error", () => {});
  await admin.connect();
  const url = (() => {
    const u = new URL(server);
    u.pathname = `/${name}`;
    return u.toString();
  })();
  const clients: Array<import("@lml/db").PrismaClient> = [];
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    await db.migrate(url);
    const setup = db.createPrismaClient(url, { kind: "postgres" });
    clients.push(setup);
    await db.submitGrid(setup, { name: "bench-queue" }, null, {
      cells: Array.from({ length: runs }, (_, i) => ({
        name: `noop-${i}`,
        config: { regime: "synthetic-only", seed: i },
      })),
    });

    // A no-op training: the measured cost is the queue's (claim, lease, completion), not tfjs's.
    const noop = async () => ({ backend: "none", steps: 0, evaluations: [], seconds: 0, artifacts: [] });
    const silent = pino({ level: "silent" });
    for (let w = 0; w < workers; w++) clients.push(db.createPrismaClient(url, { kind: "postgres", poolMax: 2 }));
    const started = performance.now();
    const summaries = await Promise.all(
      clients
        .slice(1)
        .map((prisma, w) => runWorker({ prisma, train: noop, workerId: `bench-${w}`, idleExit: true, leaseMs: 60_000, logger: silent })),
    );
    const seconds = (performance.now() - started) / 1000;

    const claimed = summaries.flatMap((s) => s.runs.map((r) => r.id));
    const attempts = await setup.run.aggregate({ _sum: { attempts: true }, _count: true });
    const succeeded = await setup.run.count({ where: { status: "SUCCEEDED" } });
    // A run claimed twice shows up twice in the workers' lists or as an attempt beyond the first.
    const doubleClaims = Math.max(claimed.length - new Set(claimed).size, (attempts._sum.attempts ?? 0) - attempts._count);
    if (succeeded !== runs) throw new Error(`bench: only ${succeeded} of ${runs} runs succeeded`);
    const result = { claimsPerSec: Math.round((claimed.length / seconds) * 10) / 10, doubleClaims, workers, runs, database };
    if (opts.json) process.stdout.write(JSON.stringify(result) + "\n");
    else
      process.stdout.write(
        `queue: ${workers} workers drained ${runs} no-op runs in ${seconds.toFixed(2)} s on ${database}: ` +
          `${result.claimsPerSec} claims/s (claim + lease + complete), ${doubleClaims} double claims\n`,
      );
  } finally {
    await Promise.all(clients.map((c) => c.$disconnect().catch(() => {})));
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
  }
}

async function pickServer(db: typeof import("@lml/db")): Promise<string> {
  const explicit = process.env.LML_BENCH_DATABASE_URL?.trim();
  if (explicit) return explicit;
  const url = process.env.DATABASE_URL?.trim();
  if (url) {
    const probe = await db.probeDatabase(url).catch(() => null);
    if (probe?.kind === "postgres") return url;
  }
  return DEFAULT_SERVER;
}
