/**
 * The dashboard's speed bench (`npm run -s -w @lml/web bench -- [--json] [--runs 1000,10000]
 * [--db pglite|postgres] [--iterations N] [--loads N] [--sse N] [--fresh] [--explain DIR]`, which
 * `lml bench web` runs). For each size: a grid of N succeeded runs with the trainer's evaluations
 * (seeded once, then reused: seed.ts), a production build under `next start`, and
 * - results query p50/p95 over HTTP and in-process (alternating norms, as a page switching them),
 *   its cold first answer, and its answer right after a run of the grid changed;
 * - runs-list and grids-list queries;
 * - in Chromium: the results page's first render (outline, first number), the virtualised runs list,
 *   and the latency of a run's status change reaching the open page by server-sent events;
 * - with --explain, EXPLAIN ANALYZE of the queries behind them (explain.ts).
 * The machine's load average is recorded beside the numbers (a shared machine makes them noisy).
 * Progress on stderr; the result as JSON on stdout (one line with --json).
 */
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "@lml/core";
import { buildIfStale, ensureChromium, startDashboard, type Dashboard } from "../e2e/harness";
import { firstRender, launchChromium, quantile, runsList, sseLatency } from "./browser";
import { explainFile, explainQueries } from "./explain";
import { openBenchDatabase, type BenchDb } from "./seed";

const root = join(import.meta.dirname, "..", "..", "..");

interface Flags {
  json: boolean;
  runs: number[];
  db: BenchDb;
  iterations: number;
  loads: number;
  sse: number;
  fresh: boolean;
  explain: string | null;
}

/** The flags, checked (a bad one exits 2 naming it). */
function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      runs: { type: "string", default: "1000,10000" },
      db: { type: "string", default: "pglite" },
      iterations: { type: "string", default: "30" },
      loads: { type: "string", default: "5" },
      sse: { type: "string", default: "5" },
      fresh: { type: "boolean", default: false },
      explain: { type: "string" },
    },
    strict: true,
  });
  const int = (flag: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag}: expected an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  if (values.db !== "pglite" && values.db !== "postgres") throw new UsageError(`--db: expected pglite or postgres, got "${values.db}"`);
  const runs = values.runs.split(",").map((s) => int("runs", s.trim(), 4));
  return {
    json: values.json,
    runs,
    db: values.db,
    iterations: int("iterations", values.iterations),
    loads: int("loads", values.loads),
    sse: int("sse", values.sse, 0),
    fresh: values.fresh,
    // npm runs this in apps/web; a relative --explain DIR means the caller's folder.
    explain: values.explain ? resolve(process.env.INIT_CWD ?? process.cwd(), values.explain) : null,
  };
}

async function time<T>(f: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const stat = (xs: number[]) => ({ p50Ms: quantile(xs, 0.5), p95Ms: quantile(xs, 0.95) });
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`lml: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const say = (m: string) => process.stderr.write(`${m}\n`);
  // Build first: a synchronous build would stall the embedded database served from this process.
  ensureChromium();
  buildIfStale();
  const loadAtStart = load();
  const sizes = [];
  for (const n of flags.runs) sizes.push(await benchSize(n, flags, say));
  const out = { bench: "web", db: flags.db, sizes, loadavg: { start: loadAtStart, end: load() }, cpus: cpus().length };
  process.stdout.write(flags.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
}

async function benchSize(n: number, flags: Flags, say: (m: string) => void) {
  const { createCaller, resultsCacheStats, transformer } = await import("@lml/api");
  const bench = await openBenchDatabase(flags.db, n, { fresh: flags.fresh, root, say });
  const { db, gridId } = bench;
  let dash: Dashboard | null = null;
  try {
    const loadBefore = load();
    const explain = flags.explain ? await explainQueries(bench.url, gridId, explainFile(flags.explain, flags.db, n)) : null;
    dash = await startDashboard(bench.url);
    const url = dash.url;
    // Through HTTP as the browser calls them (Next route → tRPC → Prisma → database), and in-process.
    const http = async (path: string, input: unknown) => {
      const r = await fetch(`${url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(transformer.serialize(input)))}`);
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
      await r.arrayBuffer();
    };
    const tables = (i: number) => ({ gridId, norm: i % 2 ? "inter-ocular" : "inter-pupil", metric: "nme", reference: true }) as const;
    // The server's first answers per norm build the tables (cold); the CLI process's first in-process ones too.
    const cold = [
      await time(() => http("evaluations.studyTables", tables(0))),
      await time(() => http("evaluations.studyTables", tables(1))),
    ];
    const api = createCaller({ prisma: db.prisma });
    const builds0 = resultsCacheStats.tableBuilds;
    const coldInProcess = [
      await time(() => api.evaluations.studyTables(tables(0))),
      await time(() => api.evaluations.studyTables(tables(1))),
    ];
    const t: Record<string, number[]> = { results: [], runs: [], grids: [], resultsInProcess: [], runsInProcess: [] };
    for (let i = 0; i < flags.iterations; i++) {
      const page = { gridId, page: 1 + (i % Math.max(1, Math.floor(n / 25))), pageSize: 25 };
      t.results.push(await time(() => http("evaluations.studyTables", tables(i))));
      t.runs.push(await time(() => http("runs.list", page)));
      t.grids.push(await time(() => http("grids.list", { page: 1, pageSize: 20 })));
      t.resultsInProcess.push(await time(() => api.evaluations.studyTables(tables(i))));
      t.runsInProcess.push(await time(() => api.runs.list(page)));
    }
    const builds = resultsCacheStats.tableBuilds - builds0;
    // A run of the grid changes (its row is rewritten, its evaluations stay): the next answer rebuilds
    // the tables from scalars; the paired tests, on the same evaluation rows, come from their cache.
    const changed: number[] = [];
    for (let i = 0; i < 3; i++) {
      await db.prisma.$executeRawUnsafe(
        `UPDATE "Run" SET progress = 1 WHERE id = (SELECT id FROM "Run" WHERE "gridId" = $1::uuid ORDER BY "createdAt" OFFSET $2 LIMIT 1)`,
        gridId,
        i,
      );
      changed.push(await time(() => http("evaluations.studyTables", tables(0))));
    }
    say(`${n} runs: queries timed (${flags.iterations} each)`);

    const browser = await launchChromium();
    let page, runs, sse;
    try {
      page = await firstRender(browser, url, gridId, flags.loads);
      runs = await runsList(browser, url, gridId, n);
      sse = flags.sse > 0 ? await sseLatency(browser, url, gridId, bench.url, flags.sse) : null;
    } finally {
      await browser.close();
    }
    say(`${n} runs: pages timed`);
    return {
      runs: n,
      evaluations: bench.evaluations,
      db: db.kind,
      seedMs: bench.seedMs,
      reused: bench.seedMs === null,
      iterations: flags.iterations,
      // HTTP: GET /api/trpc/… on the production server; inProcess: createCaller on the same database.
      resultsQuery: {
        ...stat(t.results),
        inProcess: { ...stat(t.resultsInProcess), tableBuilds: builds },
        coldMs: cold.map(Math.round),
        coldInProcessMs: coldInProcess.map(Math.round),
        afterRunChangeMs: changed.map(Math.round),
      },
      runsQuery: { ...stat(t.runs), inProcess: stat(t.runsInProcess), pageSize: 25 },
      gridsQuery: stat(t.grids),
      resultsPage: page,
      runsList: runs,
      sseUpdate: sse,
      explain,
      loadavg: { start: loadBefore, end: load() },
    };
  } finally {
    await dash?.stop();
    await bench.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`lml bench web: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
