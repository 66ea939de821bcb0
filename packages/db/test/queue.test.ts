// The run queue against real databases: the lifecycle on PGlite and PostgreSQL, and the concurrency
// guarantees (every run claimed exactly once by 8 workers on separate connections) on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../src/client";
import {
  cancelGrid,
  cancelRun,
  claimNextRun,
  completeRun,
  failRun,
  gridStatus,
  loadCheckpoint,
  markCanceled,
  releaseLease,
  renewLease,
  requeueExpired,
  requeueRun,
  saveCheckpoint,
  submitGrid,
  type EvaluationInput,
  type QueueCell,
} from "../src/queue";
import { describeEachDatabase, openTestDatabase, testDatabases, type TestDatabase } from "../src/testing";

const cells = (n: number, prefix = "run"): QueueCell[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `${prefix}-${i}`,
    config: { regime: "synthetic-only", seed: i },
  }));

const evaluation = (testSet: string, nme = 3.5): EvaluationInput => ({
  testSet,
  protocol: "dense",
  norm: "inter-ocular",
  nme,
  auc8: 0.5,
  fr8: 0.1,
  auc10: 0.6,
  fr10: 0.05,
  count: 2,
  perLandmark: [1, 2],
  perImage: [3, 4],
  cedX: [0, 8],
  cedY: [0, 1],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDatabase("queue lifecycle", (db) => {
  let n = 0;
  const grid = async (count: number, opts: { maxAttempts?: number; priority?: number } = {}) =>
    submitGrid(db().prisma, { name: `g${++n}` }, `name: g${n}`, { cells: cells(count), ...opts });

  it("submits a grid and refuses a second of the same name without force", async () => {
    const prisma = db().prisma;
    const g = await submitGrid(prisma, { name: "dup" }, "name: dup", { cells: cells(3) });
    expect(g.runs).toBe(3);
    await expect(submitGrid(prisma, { name: "dup" }, null, { cells: cells(2) })).rejects.toThrow(
      /a grid named "dup" already exists .*resubmit with --force/,
    );
    const again = await submitGrid(prisma, { name: "dup" }, null, { cells: cells(2), force: true });
    expect(again.id).not.toBe(g.id);
    // Nothing deleted; the name resolves to the newest grid.
    expect((await gridStatus(prisma, g.id)).runs).toHaveLength(3);
    expect((await gridStatus(prisma, "dup")).grid.id).toBe(again.id);
    await expect(gridStatus(prisma, "no-such-grid")).rejects.toThrow(/no grid with id or name "no-such-grid"/);
  });

  it("claims by priority then age, and completes once", async () => {
    const prisma = db().prisma;
    await cancelAllQueued(prisma);
    const low = await grid(2);
    const high = await grid(1, { priority: 5 });
    const first = await claimNextRun(prisma, "w1", 10_000);
    expect(first?.gridId).toBe(high.id);
    expect(first?.attempt).toBe(1);
    const second = await claimNextRun(prisma, "w2", 10_000);
    expect(second?.gridId).toBe(low.id);
    expect(second?.name).toBe("run-0");

    const done = await completeRun(prisma, { runId: first!.id, workerId: "w1", attempt: 1, evaluations: [evaluation("common")], steps: 7 });
    expect(done).toEqual({ written: true });
    // A retry (the first commit's answer was lost) and a stranger both write nothing.
    expect(
      await completeRun(prisma, { runId: first!.id, workerId: "w1", attempt: 1, evaluations: [evaluation("common", 9)] }),
    ).toMatchObject({
      written: false,
      reason: "already-succeeded",
    });
    expect(await completeRun(prisma, { runId: second!.id, workerId: "intruder", attempt: 1, evaluations: [] })).toMatchObject({
      written: false,
      reason: "lease-lost",
    });
    const evals = await prisma.evaluation.findMany({ where: { runId: first!.id } });
    expect(evals.map((e) => [e.nme, e.attempt])).toEqual([[3.5, 1]]);
    const run = await prisma.run.findUniqueOrThrow({ where: { id: first!.id } });
    expect(run).toMatchObject({ status: "SUCCEEDED", progress: 1, step: 7, leaseOwner: null });
  });

  it("renews, releases without counting the attempt, and stores checkpoints only for the owner", async () => {
    const prisma = db().prisma;
    await cancelAllQueued(prisma);
    await grid(1);
    const run = (await claimNextRun(prisma, "w1", 10_000))!;
    expect(await renewLease(prisma, run.id, "w1", 10_000, { step: 4, totalSteps: 10, progress: 0.4 })).toEqual({
      owned: true,
      cancelRequested: false,
    });
    expect(await renewLease(prisma, run.id, "w2", 10_000)).toEqual({ owned: false, cancelRequested: false });
    expect(await saveCheckpoint(prisma, run.id, "w1", { step: 4, bytes: new Uint8Array([4, 2]) })).toBe(true);
    expect(await saveCheckpoint(prisma, run.id, "w2", { step: 9, bytes: new Uint8Array([9]) })).toBe(false);
    expect(await loadCheckpoint(prisma, run.id)).toMatchObject({ step: 4, bytes: new Uint8Array([4, 2]) });

    expect(await releaseLease(prisma, run.id, "w1")).toBe("QUEUED");
    const again = (await claimNextRun(prisma, "w2", 10_000))!;
    expect(again).toMatchObject({ id: run.id, attempt: 1, step: 4 });
    expect(await releaseLease(prisma, run.id, "w1")).toBeNull();
    await completeRun(prisma, { runId: run.id, workerId: "w2", attempt: 1, evaluations: [] });
  });

  it("takes back expired leases, then FAILS with every attempt's reason at maxAttempts", async () => {
    const prisma = db().prisma;
    await cancelAllQueued(prisma);
    await grid(1, { maxAttempts: 2 });
    const a1 = (await claimNextRun(prisma, "ghost-1", 50))!;
    await sleep(120);
    expect((await requeueExpired(prisma)).requeued).toEqual([a1.id]);
    expect((await renewLease(prisma, a1.id, "ghost-1", 50)).owned).toBe(false);
    const a2 = (await claimNextRun(prisma, "ghost-2", 50))!;
    expect(a2).toMatchObject({ id: a1.id, attempt: 2 });
    await sleep(120);
    expect((await requeueExpired(prisma)).failed).toEqual([a1.id]);
    const run = await prisma.run.findUniqueOrThrow({ where: { id: a1.id } });
    expect(run.status).toBe("FAILED");
    expect(run.error).toMatch(/failed after 2 attempts: attempt 1 \(ghost-1\): lease expired .*; attempt 2 \(ghost-2\): lease expired/);
    expect((run.attemptErrors as unknown[]).length).toBe(2);
    expect(await claimNextRun(prisma, "w", 1000)).toBeNull();

    // requeueRun gives it a fresh budget and keeps the history.
    expect(await requeueRun(prisma, a1.id)).toBe(true);
    const a3 = (await claimNextRun(prisma, "w3", 10_000))!;
    expect(a3.attempt).toBe(1);
    expect(await failRun(prisma, a3.id, "w3", "out of memory")).toBe("QUEUED");
    const a4 = (await claimNextRun(prisma, "w4", 10_000))!;
    expect(await failRun(prisma, a4.id, "w4", "out of memory again")).toBe("FAILED");
    const failed = await prisma.run.findUniqueOrThrow({ where: { id: a1.id } });
    expect((failed.attemptErrors as unknown[]).length).toBe(4);
    expect(failed.error).toMatch(/out of memory again/);
  });

  it("fails a deterministic error at once instead of retrying it (failRun retry: false)", async () => {
    const prisma = db().prisma;
    await cancelAllQueued(prisma);
    await grid(1, { maxAttempts: 3 });
    const run = (await claimNextRun(prisma, "w1", 10_000))!;
    expect(await failRun(prisma, run.id, "w1", "invalid config: model.channels: 9 must be even", { retry: false })).toBe("FAILED");
    const failed = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(failed).toMatchObject({ status: "FAILED", attempts: 1, leaseOwner: null });
    expect(failed.error).toBe("failed after 1 attempt: attempt 1 (w1): invalid config: model.channels: 9 must be even");
    expect(await claimNextRun(prisma, "w2", 10_000)).toBeNull();
  });

  it("cancels queued runs at once and running runs through their worker", async () => {
    const prisma = db().prisma;
    await cancelAllQueued(prisma);
    const g = await grid(3);
    const running = (await claimNextRun(prisma, "w1", 10_000))!;
    expect(await cancelGrid(prisma, g.id)).toEqual({ gridId: g.id, canceled: 2, requested: 1 });
    expect(await claimNextRun(prisma, "w2", 10_000)).toBeNull();
    expect(await renewLease(prisma, running.id, "w1", 10_000)).toEqual({ owned: true, cancelRequested: true });
    expect(await markCanceled(prisma, running.id, "w1")).toBe(true);
    const status = await gridStatus(prisma, g.id);
    expect(status.counts).toMatchObject({ CANCELED: 3, QUEUED: 0, RUNNING: 0 });
    // Canceling a finished run changes nothing.
    expect(await cancelRun(prisma, running.id)).toEqual({ canceled: 0, requested: 0 });
  });
});

async function cancelAllQueued(prisma: PrismaClient) {
  await prisma.run.updateMany({ where: { status: { in: ["QUEUED", "RUNNING"] } }, data: { status: "CANCELED" } });
}

const postgres = testDatabases().find((t) => t.kind === "postgres")!;
const describePg = postgres.skip ? describe.skip : describe;
if (postgres.skip) console.warn(`[queue.test] ${postgres.skip}`);

describePg(`queue concurrency [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(postgres);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("8 workers on separate connections claim 200 runs, each exactly once", async () => {
    await submitGrid(db.prisma, { name: "many" }, null, { cells: cells(200) });
    const clients = Array.from({ length: 8 }, () => createPrismaClient(db.rawUrl, { poolMax: 1, kind: "postgres" }));
    try {
      const claimed: string[][] = await Promise.all(
        clients.map(async (prisma, w) => {
          const mine: string[] = [];
          for (;;) {
            const run = await claimNextRun(prisma, `w${w}`, 30_000);
            if (!run) return mine;
            mine.push(run.id);
            const res = await completeRun(prisma, {
              runId: run.id,
              workerId: `w${w}`,
              attempt: run.attempt,
              evaluations: [evaluation("common")],
            });
            expect(res.written).toBe(true);
          }
        }),
      );
      const all = claimed.flat();
      expect(all).toHaveLength(200);
      expect(new Set(all).size).toBe(200);
      // Work was actually shared.
      expect(claimed.filter((c) => c.length > 0).length).toBeGreaterThan(1);
      const runs = await db.prisma.run.findMany({ select: { status: true, attempts: true } });
      expect(runs.every((r) => r.status === "SUCCEEDED" && r.attempts === 1)).toBe(true);
      expect(await db.prisma.evaluation.count()).toBe(200);
    } finally {
      await Promise.all(clients.map((c) => c.$disconnect()));
    }
  }, 60_000);

  it("two workers racing to sweep and renew one expired lease never both win", async () => {
    await submitGrid(db.prisma, { name: "race" }, null, { cells: cells(1) });
    const run = (await claimNextRun(db.prisma, "old", 30))!;
    await sleep(80);
    const other = createPrismaClient(db.rawUrl, { poolMax: 1, kind: "postgres" });
    try {
      const [a, b] = await Promise.all([requeueExpired(db.prisma), requeueExpired(other)]);
      expect(a.requeued.length + b.requeued.length).toBe(1);
      const [c1, c2] = await Promise.all([claimNextRun(db.prisma, "n1", 10_000), claimNextRun(other, "n2", 10_000)]);
      expect([c1, c2].filter(Boolean).map((c) => c!.id)).toEqual([run.id]);
      const row = await db.prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      expect(row.attempts).toBe(2);
    } finally {
      await other.$disconnect();
    }
  });
});
