// The live-change feed on both targets (PGlite: polling Run.changeSeq; PostgreSQL: LISTEN/NOTIFY, and
// polling when asked), the triggers that number changes, and reconnection after a lost connection.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openChangeFeed, type ChangeEvent, type ChangeFeed } from "../src/changes";
import { startEmbeddedServer } from "../src/embedded";
import { claimNextRun, completeRun, submitGrid, type EvaluationInput } from "../src/queue";
import { appendMetricPoints, writeEvaluations } from "../src/repositories";
import { describeEachDatabase, testDatabases } from "../src/testing";

const evaluation: EvaluationInput = {
  testSet: "common",
  protocol: "dense",
  norm: "inter-ocular",
  nme: 3.5,
  auc8: 0.5,
  fr8: 0.1,
  auc10: 0.6,
  fr10: 0.05,
  count: 2,
  perImage: [3, 4],
};

/** Collects a feed's events; `next(pred)` waits for the first (merged so far) event that satisfies pred. */
function recorder(feed: ChangeFeed) {
  const events: ChangeEvent[] = [];
  const stop = feed.subscribe((e) => events.push(e));
  return {
    events,
    stop,
    /** Waits for an event, from the `from`-th on, that satisfies pred. */
    async next(pred: (e: ChangeEvent) => boolean, from = 0, timeoutMs = 8000): Promise<ChangeEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.slice(from).find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching change event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const seqOf = async (db: pg.ClientBase | { query: pg.Pool["query"] }, runId: string) =>
  BigInt(((await db.query(`SELECT "changeSeq"::text AS s FROM "Run" WHERE id = $1`, [runId])).rows[0] as { s: string }).s);

describeEachDatabase("live changes", (db, target) => {
  let n = 0;
  const grid = (runs: number) =>
    submitGrid(db().prisma, { name: `live-${++n}` }, null, {
      cells: Array.from({ length: runs }, (_, i) => ({ name: `r${i}`, config: { regime: "synthetic-only", seed: i } })),
    });
  const feeds: ChangeFeed[] = [];
  const open = (mode?: "listen" | "poll") => {
    const f = openChangeFeed(db().rawUrl, target.kind, { mode, pollMs: 50 });
    feeds.push(f);
    return f;
  };
  afterAll(async () => {
    for (const f of feeds) await f.close();
  });

  it("numbers a run's every change and its evaluations' and curves' writes; a statement that changes nothing numbers nothing", async () => {
    const g = await grid(1);
    const [run] = await db().prisma.run.findMany({ where: { gridId: g.id }, select: { id: true } });
    const c = new pg.Client({ connectionString: db().rawUrl });
    await c.connect();
    try {
      const s0 = await seqOf(c, run.id);
      await c.query(`UPDATE "Run" SET progress = 0.5 WHERE id = $1`, [run.id]);
      const s1 = await seqOf(c, run.id);
      expect(s1).toBeGreaterThan(s0);
      await writeEvaluations(db().prisma, run.id, [evaluation]);
      const s2 = await seqOf(c, run.id);
      expect(s2).toBeGreaterThan(s1);
      await c.query(`UPDATE "Run" SET progress = 1 WHERE id = $1 AND false`, [run.id]);
      expect(await seqOf(c, run.id)).toBe(s2);
      // A curve that grows (insert, then the same step again: ON CONFLICT … DO UPDATE) touches its run too.
      await appendMetricPoints(db().prisma, run.id, [{ name: "loss", step: 1, value: 0.5 }]);
      const s3 = await seqOf(c, run.id);
      expect(s3).toBeGreaterThan(s2);
      await appendMetricPoints(db().prisma, run.id, [{ name: "loss", step: 1, value: 0.4 }]);
      expect(await seqOf(c, run.id)).toBeGreaterThan(s3);
    } finally {
      await c.end();
    }
  });

  it(`tells subscribers which runs and grids changed (${target.kind === "pglite" ? "poll" : "listen"})`, async () => {
    const feed = open();
    expect(feed.mode).toBe(target.kind === "pglite" ? "poll" : "listen");
    const rec = recorder(feed);
    await feed.ready();
    const g = await grid(2);
    await rec.next((e) => e.grids?.includes(g.id) ?? false);
    const claimed = (await claimNextRun(db().prisma, "w-live", 10_000))!;
    await rec.next((e) => e.runs?.includes(claimed.id) ?? false);
    const before = rec.events.length;
    await completeRun(db().prisma, { runId: claimed.id, workerId: "w-live", attempt: claimed.attempt, evaluations: [evaluation] });
    const done = await rec.next((e) => e.runs?.includes(claimed.id) ?? false, before);
    expect(done.grids).toContain(claimed.gridId);
    await db().prisma.worker.create({ data: { id: `w-${n}`, host: "test" } });
    await rec.next((e) => e.workers);
    rec.stop();
  });

  it("goes on telling after every subscriber left and a new one came", async () => {
    const feed = open();
    const first = recorder(feed);
    await feed.ready();
    const g1 = await grid(1);
    await first.next((e) => e.grids?.includes(g1.id) ?? false);
    first.stop();
    await new Promise((r) => setTimeout(r, 200));
    const second = recorder(feed);
    const g2 = await grid(1);
    await second.next((e) => e.grids?.includes(g2.id) ?? false);
    second.stop();
  });

  it("sends one event saying 'many' for a statement that changes more runs than it lists", async () => {
    const feed = open();
    const rec = recorder(feed);
    await feed.ready();
    const g = await grid(60);
    const e = await rec.next((x) => x.grids?.includes(g.id) ?? false);
    expect(e.runs).toBeNull();
    rec.stop();
  });

  if (target.kind === "postgres") {
    it("polls on PostgreSQL too when asked (for poolers that drop LISTEN)", async () => {
      const feed = open("poll");
      const rec = recorder(feed);
      await feed.ready();
      const g = await grid(1);
      await rec.next((e) => e.grids?.includes(g.id) ?? false);
      rec.stop();
    });

    it("reconnects after losing its connection, says resync, and goes on", async () => {
      const feed = open("listen");
      const rec = recorder(feed);
      await feed.ready();
      const admin = new pg.Client({ connectionString: db().rawUrl });
      await admin.connect();
      try {
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
        );
        expect(killed.rowCount).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      await rec.next((e) => e.resync);
      const g = await grid(1);
      await rec.next((e) => e.grids?.includes(g.id) ?? false);
      rec.stop();
    });
  }
});

describe.runIf(testDatabases().some((t) => t.kind === "pglite"))("pglite-socket", () => {
  it("does not deliver a NOTIFY to a listener on another connection (why the feed polls PGlite)", async () => {
    const server = await startEmbeddedServer({ dataDir: "memory://", port: 0 });
    const a = new pg.Client({ connectionString: server.url });
    const b = new pg.Client({ connectionString: server.url });
    try {
      await a.connect();
      await b.connect();
      const got: string[] = [];
      a.on("notification", (m) => got.push(`a:${m.payload}`));
      b.on("notification", (m) => got.push(`b:${m.payload}`));
      await a.query("LISTEN lml_change");
      await b.query("NOTIFY lml_change, 'x'");
      await new Promise((r) => setTimeout(r, 200));
      await a.query("SELECT 1");
      expect(got).not.toContain("a:x");
    } finally {
      await a.end().catch(() => {});
      await b.end().catch(() => {});
      await server.close();
    }
  });
});
