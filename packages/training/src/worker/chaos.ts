/**
 * `lml bench chaos` (and, smaller, a test in `npm test`): the queue and its workers under the failures
 * of issue 16, on bounded loops, against a throwaway database on a PostgreSQL server of this machine.
 * Worker processes (chaos-worker.ts: the real worker process, training with the step trainer) drain a
 * grid while, every `gapMs`, one of these happens in turn to a random worker or to the database:
 *
 *   sigkill   the worker is killed (its run returns when its lease expires; another resumes it)
 *   sigterm   the worker is asked to stop (it checkpoints and gives its run back)
 *   sigstop   the worker is frozen for 2 leases and 2 runs' time, then resumed (its lease expires
 *             meanwhile, another worker takes its run over, and the frozen one must write nothing when
 *             it wakes)
 *   outage    PostgreSQL restarts (`pg_ctlcluster <version> main restart`, when allowed) or, when not,
 *             every connection to the throwaway database is cut
 *
 * A killed or stopped worker is replaced. Then the grid drains and every run is checked: lost (not
 * SUCCEEDED), duplicated (results written by more than one attempt, or not exactly one set), wrong
 * results (the step trainer's accumulator shows a step lost or repeated), missing curve points.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MAX_RUN_ATTEMPTS, Rng } from "@lml/core";
import { createPrismaClient, migrate, submitGrid, type PrismaClient } from "@lml/db";
import pg from "pg";
import { expectedAcc } from "./step-trainer";

export const CHAOS_EVENTS = ["sigkill", "sigterm", "sigstop", "outage"] as const;
export type ChaosEvent = (typeof CHAOS_EVENTS)[number];

export interface ChaosOptions {
  /** A PostgreSQL server on this machine; a throwaway database is created on it and dropped after. */
  serverUrl: string;
  /** Runs queued at first; more are queued whenever fewer than `workers` wait, until the last event. */
  runs: number;
  workers: number;
  /** Chaos events, in the order of CHAOS_EVENTS, one every `gapMs`. */
  rounds: number;
  /** Restart PostgreSQL for an outage (only the chaos bench may); otherwise cut the database's connections. */
  restartPostgres: boolean;
  leaseSeconds?: number;
  gapMs?: number;
  /** Steps per run (the step trainer's `msPerStep` apart). */
  totalSteps?: number;
  msPerStep?: number;
  /** How long the grid may take to drain after the last event. */
  drainTimeoutMs?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  runs: number;
  succeeded: number;
  lost: number;
  duplicated: number;
  wrongResults: number;
  missingPoints: number;
  events: Record<"sigkill" | "sigterm" | "sigstop" | "postgresRestart" | "connectionsCut", number>;
  /** Attempts that ended by an expired lease (killed and frozen workers), over all runs. */
  leaseExpiries: number;
  attempts: number;
  workersStarted: number;
  seconds: number;
  database: string;
}

const WORKER_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "chaos-worker.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or nothing after `ms`; the timer is cleared either way (a pending one would keep the process up). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

interface ChaosWorker {
  id: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Resolves when the worker logs that it started (registered, its lease-keeping thread up). */
  ready: Promise<void>;
  tail: string[];
}

/** Runs the chaos and returns what the database holds afterwards; the throwaway database is always dropped. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const leaseSeconds = o.leaseSeconds ?? 3;
  const gapMs = o.gapMs ?? 1500;
  const totalSteps = o.totalSteps ?? 60;
  const msPerStep = o.msPerStep ?? 40;
  const rng = new Rng(o.seed ?? 1);
  const started = performance.now();
  const admin = async <T>(f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: o.serverUrl, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  const { version, major } = await admin(async (c) => {
    const { rows } = await c.query<{ v: string; n: string }>("SELECT version() AS v, current_setting('server_version_num') AS n");
    return { version: rows[0].v.match(/^PostgreSQL [\d.]+/)?.[0] ?? "PostgreSQL", major: Math.floor(Number(rows[0].n) / 10_000) };
  });

  const name = `lml_chaos_${randomBytes(4).toString("hex")}`;
  const url = (() => {
    const u = new URL(o.serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
  })();
  const workers = new Map<string, ChaosWorker>();
  const everyWorker: ChaosWorker[] = [];
  const successes = new Map<string, number>();
  const events = { sigkill: 0, sigterm: 0, sigstop: 0, postgresRestart: 0, connectionsCut: 0 };
  let workersStarted = 0;
  let prisma: PrismaClient | null = null;

  const startWorker = (): ChaosWorker => {
    const id = `chaos-${++workersStarted}`;
    const child = spawn(process.execPath, ["--import", "tsx", WORKER_ENTRY], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        LML_LOG_LEVEL: "info",
        CHAOS_WORKER_ID: id,
        CHAOS_LEASE_S: String(leaseSeconds),
        CHAOS_HEARTBEAT_MS: String(Math.min(250, (leaseSeconds * 1000) / 8)),
        CHAOS_TOTAL_STEPS: String(totalSteps),
        CHAOS_MS_PER_STEP: String(msPerStep),
        CHAOS_CHECKPOINT_EVERY: "5",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let markReady = () => {};
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const ready = new Promise<void>((r) => (markReady = r));
    const w: ChaosWorker = { id, child, tail: [], exited, ready: Promise.race([ready, exited]) };
    // Each "run succeeded" line is one completion the worker saw committed: more than one per run is a duplicate.
    createInterface({ input: child.stderr! }).on("line", (line) => {
      w.tail = [...w.tail.slice(-30), line];
      if (line.includes('"worker started"')) markReady();
      if (!line.includes('"run succeeded"')) return;
      try {
        const run = (JSON.parse(line) as { run?: string }).run;
        if (run) successes.set(run, (successes.get(run) ?? 0) + 1);
      } catch {
        /* not a log line */
      }
    });
    workers.set(id, w);
    everyWorker.push(w);
    void w.exited.then(() => workers.delete(id));
    return w;
  };
  /**
   * A live worker holding a run (its Worker row names the run), waiting up to a minute for one; none
   * when the grid has drained. Events aimed at idle or starting workers would test nothing.
   */
  const pickBusy = async (db: PrismaClient): Promise<ChaosWorker | undefined> => {
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(100)) {
      if ((await db.run.count({ where: { status: { in: ["QUEUED", "RUNNING"] } } })) === 0) return undefined;
      const live = [...workers.values()].filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const busy = new Set(
        (await db.worker.findMany({ where: { currentRunId: { not: null }, stoppedAt: null }, select: { id: true } })).map((w) => w.id),
      );
      const candidates = live.filter((w) => busy.has(w.id));
      if (candidates.length) return candidates[Math.floor(rng.next() * candidates.length)];
    }
    return undefined;
  };
  /** A replacement, ready before the next event. */
  const replace = async () => {
    const w = startWorker();
    await within(w.ready, 120_000);
  };
  const stopAll = async () => {
    const left = [...workers.values()];
    for (const w of left) w.child.kill("SIGCONT");
    for (const w of left) w.child.kill("SIGTERM");
    await within(Promise.all(left.map((w) => w.exited)), 30_000);
    for (const w of left) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  };

  try {
    await admin((c) => c.query(`CREATE DATABASE "${name}"`));
    await migrate(url);
    prisma = createPrismaClient(url, { kind: "postgres", poolMax: 2 });
    let queued = 0;
    const queue = async (db: PrismaClient, n: number) => {
      const seeds = Array.from({ length: n }, (_, i) => queued + i + 1);
      await submitGrid(db, { name: `chaos-${seeds[0]}` }, null, {
        cells: seeds.map((seed) => ({ name: `chaos/seed=${seed}`, config: { regime: "synthetic-only", seed } })),
        // Take-overs are the point here: a run must not run out of attempts while the chaos lasts.
        maxAttempts: MAX_RUN_ATTEMPTS,
      });
      queued += n;
    };
    await queue(prisma, o.runs);
    const first = Array.from({ length: o.workers }, () => startWorker());
    await within(Promise.all(first.map((w) => w.ready)), 120_000);
    const db = prisma;
    log(`chaos: ${o.runs} runs, ${o.workers} workers on ${name} (${version}); ${o.rounds} events, one every ${gapMs} ms`);

    for (let round = 0; round < o.rounds; round++) {
      await sleep(gapMs);
      // Work for every event however slowly replacements start: the queue is topped up, never drained.
      if ((await db.run.count({ where: { status: "QUEUED" } })) < o.workers) await queue(db, 2 * o.workers);
      const event = CHAOS_EVENTS[round % CHAOS_EVENTS.length];
      const w = await pickBusy(db);
      if (!w) {
        log(`chaos: no worker held a run for a minute; stopped after ${round} events`);
        break;
      }
      if (event === "outage") {
        if (o.restartPostgres) {
          await new Promise<void>((resolve, reject) =>
            execFile("pg_ctlcluster", [String(major), "main", "restart"], { timeout: 120_000 }, (err, _out, stderr) =>
              err ? reject(new Error(`chaos: pg_ctlcluster ${major} main restart failed: ${stderr.trim() || err.message}`)) : resolve(),
            ),
          );
          events.postgresRestart++;
          const back = Date.now() + 60_000;
          for (;;) {
            try {
              await admin((c) => c.query("SELECT 1"));
              break;
            } catch (err) {
              if (Date.now() > back) throw new Error(`chaos: PostgreSQL did not come back within 60 s (${String(err)})`);
              await sleep(200);
            }
          }
          log("chaos: restarted PostgreSQL");
        } else {
          const cut = await admin((c) =>
            c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]),
          );
          events.connectionsCut++;
          log(`chaos: cut ${cut.rowCount} connections`);
        }
        continue;
      }
      if (event === "sigkill") {
        w.child.kill("SIGKILL");
        await w.exited;
        events.sigkill++;
        await replace();
      } else if (event === "sigterm") {
        w.child.kill("SIGTERM");
        await within(w.exited, 30_000);
        if (w.child.exitCode === null) w.child.kill("SIGKILL");
        events.sigterm++;
        await replace();
      } else {
        // Past its lease and long enough for a busy peer to finish its run and sweep: a take-over.
        w.child.kill("SIGSTOP");
        await sleep(leaseSeconds * 2000 + 2 * totalSteps * msPerStep);
        w.child.kill("SIGCONT");
        events.sigstop++;
      }
      log(`chaos: ${event} of ${w.id}`);
    }

    const drainBy = Date.now() + (o.drainTimeoutMs ?? 180_000);
    while ((await db.run.count({ where: { status: { not: "SUCCEEDED" } } })) > 0 && Date.now() < drainBy) await sleep(500);
    await stopAll();

    const runs = await db.run.findMany({
      select: {
        id: true,
        seed: true,
        status: true,
        attempts: true,
        attemptErrors: true,
        evaluations: { select: { nme: true, attempt: true } },
      },
    });
    const points = await db.metricPoint.groupBy({ by: ["runId"], where: { name: "loss" }, _count: { _all: true } });
    const pointsOf = new Map(points.map((p) => [p.runId, p._count._all]));
    const succeeded = runs.filter((r) => r.status === "SUCCEEDED");
    const report: ChaosReport = {
      runs: runs.length,
      succeeded: succeeded.length,
      lost: runs.length - succeeded.length,
      duplicated: runs.filter((r) => (successes.get(r.id) ?? 0) > 1 || (r.status === "SUCCEEDED" && r.evaluations.length !== 2)).length,
      wrongResults: succeeded.filter((r) => r.evaluations.some((e) => e.nme !== expectedAcc(totalSteps, r.seed))).length,
      missingPoints: succeeded.reduce((n, r) => n + Math.max(0, totalSteps - (pointsOf.get(r.id) ?? 0)), 0),
      events,
      leaseExpiries: runs.reduce(
        (n, r) => n + (r.attemptErrors as Array<{ error?: string }>).filter((e) => e.error?.startsWith("lease expired")).length,
        0,
      ),
      attempts: runs.reduce((n, r) => n + r.attempts, 0),
      workersStarted,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      database: version,
    };
    if (report.lost + report.duplicated + report.wrongResults > 0)
      for (const w of everyWorker) log(`chaos: last lines of ${w.id}:\n${w.tail.join("\n")}`);
    return report;
  } finally {
    await stopAll();
    await prisma?.$disconnect().catch(() => {});
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch((err: unknown) =>
      log(`chaos: could not drop ${name}: ${String(err)}`),
    );
  }
}
