/**
 * The bench's databases: one grid of N succeeded runs (4 regimes × N/4 seeds), each with the trainer's
 * nine evaluations (100 images) and a short curve. Seeded once and kept: PGlite in
 * `.data/bench-web/pglite-<N>` (served on a free port), PostgreSQL in database `lml_bench_web_<N>`;
 * a later bench reuses a complete one (`--fresh` seeds again). Migrations are applied either way.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { REGIMES } from "@lml/core";
import type { Database } from "@lml/db";

export type BenchDb = "pglite" | "postgres";

export interface BenchDatabase {
  url: string;
  db: Database;
  gridId: string;
  /** Evaluation rows of the grid. */
  evaluations: number;
  /** Milliseconds spent seeding, or null when a complete database was reused. */
  seedMs: number | null;
  close(): Promise<void>;
}

const IMAGES = 100;
const CHUNK = 100;

/** Where PostgreSQL benches create their databases (the local server by default). */
function postgresAdminUrl(): string {
  return process.env.LML_BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

async function openServer(kind: BenchDb, n: number, fresh: boolean, root: string): Promise<{ url: string; close(): Promise<void> }> {
  if (kind === "pglite") {
    const { startEmbeddedServer } = await import("@lml/db");
    const dataDir = join(root, ".data", "bench-web", `pglite-${n}`);
    if (fresh && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const server = await startEmbeddedServer({ dataDir, port: 0 });
    return { url: server.url, close: () => server.close() };
  }
  const admin = new pg.Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  const name = `lml_bench_web_${n}`;
  try {
    if (fresh) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(postgresAdminUrl());
  u.pathname = `/${name}`;
  return { url: u.toString(), close: async () => {} };
}

/** Opens (and if needed seeds) the bench database of `n` runs. */
export async function openBenchDatabase(
  kind: BenchDb,
  n: number,
  options: { fresh: boolean; root: string; say: (m: string) => void },
): Promise<BenchDatabase> {
  const { connectDatabase, migrate } = await import("@lml/db");
  const server = await openServer(kind, n, options.fresh, options.root);
  await migrate(server.url);
  const db = await connectDatabase(server.url);
  const name = `bench-web-${n}`;
  const close = async () => {
    await db.close();
    await server.close();
  };
  try {
    const existing = await db.prisma.grid.findFirst({ where: { name }, select: { id: true } });
    if (existing) {
      const [runs, evaluations] = await Promise.all([
        db.prisma.run.count({ where: { gridId: existing.id, status: "SUCCEEDED" } }),
        db.prisma.evaluation.count({ where: { run: { gridId: existing.id } } }),
      ]);
      if (runs === n && evaluations === 9 * n) {
        options.say(`reusing ${kind} bench database: ${n} runs, ${evaluations} evaluations`);
        return { url: server.url, db, gridId: existing.id, evaluations, seedMs: null, close };
      }
      options.say(`${kind} bench database incomplete (${runs} runs, ${evaluations} evaluations): seeding again`);
      await db.prisma.grid.delete({ where: { id: existing.id } });
    }
    const t0 = performance.now();
    const seeded = await seed(db, name, n, options.say);
    const seedMs = Math.round(performance.now() - t0);
    options.say(`seeded ${n} runs, ${seeded.evaluations} evaluations in ${seedMs} ms`);
    return { url: server.url, db, gridId: seeded.gridId, evaluations: seeded.evaluations, seedMs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function seed(db: Database, name: string, n: number, say: (m: string) => void): Promise<{ gridId: string; evaluations: number }> {
  const { fixtureCurves, fixtureEvaluations } = await import("@lml/api/testing");
  const grid = await db.prisma.grid.create({ data: { name, spec: { name, method: "grid" } } });
  const base = Date.now() - 3_600_000;
  let evaluations = 0;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const chunk = Array.from({ length: Math.min(CHUNK, n - i0) }, (_, k) => {
      const i = i0 + k;
      const regime = REGIMES[i % REGIMES.length];
      const seed = Math.floor(i / REGIMES.length) + 1;
      return {
        gridId: grid.id,
        name: `bench/regime=${regime},seed=${seed}`,
        regime,
        seed,
        config: { regime, seed, data: { scheme: 490 }, train: { epochs: 10, lr: i % 8 < 4 ? 0.001 : 0.0003 } },
        status: "SUCCEEDED" as const,
        progress: 1,
        // Distinct, increasing submission times: the tables sum seeds in this order.
        createdAt: new Date(base + i),
        startedAt: new Date(base + i),
        finishedAt: new Date(base + 60_000 + i),
      };
    });
    const runs = await db.prisma.run.createManyAndReturn({ data: chunk, select: { id: true, regime: true, seed: true } });
    const data = runs.flatMap((r) =>
      fixtureEvaluations({ regime: r.regime, seed: r.seed, scheme: 490, images: IMAGES }).map((e) => ({ ...e, runId: r.id })),
    );
    evaluations += data.length;
    await db.prisma.evaluation.createMany({ data });
    await db.prisma.metricPoint.createMany({ data: runs.flatMap((r) => fixtureCurves(r.seed, 10, 5).map((p) => ({ ...p, runId: r.id }))) });
    if ((i0 / CHUNK) % 10 === 9) say(`  seeded ${i0 + chunk.length}/${n} runs`);
  }
  return { gridId: grid.id, evaluations };
}
