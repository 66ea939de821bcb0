/**
 * The dashboard's speed bench (`npm run -s -w @lml/web bench -- [--json] [--runs N] [--iterations N]
 * [--loads N]`, which `lml bench web` runs): seeds N runs (default 1,000) with evaluations into a fresh
 * database, measures p50/p95 of the dashboard's results-table and runs-list queries, and the time to
 * first render of the results page in Chromium against a production build. Prints measured numbers:
 * progress on stderr, the result as JSON on stdout (one line with --json). Uses the e2e harness
 * (fresh database, build-if-stale, `next start`).
 */
import { chromium } from "@playwright/test";
import { parseArgs } from "node:util";
import { REGIMES, UsageError } from "@lml/core";
import { buildIfStale, ensureChromium, startDashboard, startDatabase, type Dashboard } from "../e2e/harness";

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return Math.round(s[i] * 100) / 100;
}

async function time<T>(f: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/** The flags, checked: each a positive integer (a bad one exits 2 naming it). */
function parseFlags(argv: string[]): { json: boolean; runs: number; iterations: number; loads: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      runs: { type: "string", default: "1000" },
      iterations: { type: "string", default: "30" },
      loads: { type: "string", default: "5" },
    },
    strict: true,
  });
  const int = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag}: expected a positive integer, got "${v}"`);
    return n;
  };
  return {
    json: values.json,
    runs: int("runs", values.runs),
    iterations: int("iterations", values.iterations),
    loads: int("loads", values.loads),
  };
}

async function main(): Promise<void> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`lml: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const out = await benchWeb(flags.runs, flags.iterations, flags.loads, (msg) => !flags.json && process.stderr.write(`${msg}\n`));
  process.stdout.write(flags.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
}

async function benchWeb(n: number, iterations: number, loads: number, say: (m: string) => void) {
  const { createCaller, transformer } = await import("@lml/api");
  const { fixtureEvaluations, fixtureCurves } = await import("@lml/api/testing");
  const { connectDatabase } = await import("@lml/db");

  // Build first: a synchronous build would stall the embedded database served from this process.
  ensureChromium();
  buildIfStale();
  const dbServer = await startDatabase();
  const db = await connectDatabase(dbServer.url);
  let dash: Dashboard | null = null;
  try {
    // Seed: one grid of n succeeded runs (4 regimes × n/4 seeds), each with the trainer's evaluation set.
    const t0 = performance.now();
    const grid = await db.prisma.grid.create({ data: { name: `bench-web-${n}`, spec: { name: `bench-web-${n}`, method: "grid" } } });
    const runs = Array.from({ length: n }, (_, i) => {
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
        startedAt: new Date(Date.now() - 3_600_000),
        finishedAt: new Date(),
      };
    });
    await db.prisma.run.createMany({ data: runs });
    const ids = await db.prisma.run.findMany({ where: { gridId: grid.id }, select: { id: true, regime: true, seed: true } });
    let evaluations = 0;
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const data = chunk.flatMap((r) =>
        fixtureEvaluations({ regime: r.regime, seed: r.seed, scheme: 490, images: 100 }).map((e) => ({ ...e, runId: r.id })),
      );
      evaluations += data.length;
      await db.prisma.evaluation.createMany({ data });
      await db.prisma.metricPoint.createMany({
        data: chunk.flatMap((r) => fixtureCurves(r.seed, 50, 5).map((p) => ({ ...p, runId: r.id }))),
      });
    }
    const seedMs = performance.now() - t0;
    say(`seeded ${n} runs, ${evaluations} evaluations in ${Math.round(seedMs)} ms`);

    const started = await startDashboard(dbServer.url);
    dash = started;
    // Through HTTP as the browser calls them (Next route → tRPC → Prisma → database), and in-process.
    const http = async (path: string, input: unknown) => {
      const r = await fetch(`${started.url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(transformer.serialize(input)))}`);
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
      await r.arrayBuffer();
    };
    const api = createCaller({ prisma: db.prisma });
    const t: Record<string, number[]> = { results: [], runs: [], grids: [], resultsInProcess: [], runsInProcess: [] };
    for (let i = 0; i < iterations; i++) {
      const tables = { gridId: grid.id, norm: i % 2 ? "inter-ocular" : "inter-pupil", metric: "nme" } as const;
      const page = { gridId: grid.id, page: 1 + (i % 40), pageSize: 25 };
      t.results.push(await time(() => http("evaluations.studyTables", tables)));
      t.runs.push(await time(() => http("runs.list", page)));
      t.grids.push(await time(() => http("grids.list", { page: 1, pageSize: 20 })));
      t.resultsInProcess.push(await time(() => api.evaluations.studyTables(tables)));
      t.runsInProcess.push(await time(() => api.runs.list(page)));
    }
    say(`queries timed (${iterations} each)`);
    const stat = (xs: number[]) => ({ p50Ms: quantile(xs, 0.5), p95Ms: quantile(xs, 0.95) });

    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const renders: number[] = [];
    const fcps: number[] = [];
    try {
      for (let i = 0; i < loads; i++) {
        // A fresh context per load: no HTTP cache, no client-side query cache.
        const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await ctx.newPage();
        const t = performance.now();
        await page.goto(`${started.url}/grids/${grid.id}`);
        await page.locator('[data-testid="results-test-time-mlp"] td.cell').first().waitFor({ state: "visible", timeout: 120_000 });
        renders.push(performance.now() - t);
        fcps.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
        await ctx.close();
      }
    } finally {
      await browser.close();
    }
    return {
      bench: "web",
      runs: n,
      evaluations,
      db: db.kind,
      seedMs: Math.round(seedMs),
      iterations,
      // HTTP: GET /api/trpc/… on the production server; inProcess: createCaller on the same database.
      resultsQuery: { ...stat(t.results), inProcess: stat(t.resultsInProcess) },
      runsQuery: { ...stat(t.runs), inProcess: stat(t.runsInProcess), pageSize: 25 },
      gridsQuery: stat(t.grids),
      resultsPage: {
        // Navigation start → first results cell visible (tables built from all n runs' evaluations).
        firstRenderMs: { cold: Math.round(renders[0]), p50: quantile(renders, 0.5), max: Math.round(Math.max(...renders)) },
        firstContentfulPaintMs: quantile(fcps.filter(Number.isFinite), 0.5),
        loads,
      },
      cpus: (await import("node:os")).cpus().length,
    };
  } finally {
    await dash?.stop();
    await db.close();
    await dbServer.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`lml bench web: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
