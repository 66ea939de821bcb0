// The worker against real PostgreSQL: streaming and completion, resume after SIGKILL, SIGTERM,
// cancel, and a lost database connection. Worker processes run test/worker.fixture.ts (the worker
// loop with a tiny deterministic step-based trainer) so that they can be killed for real.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "@lml/core";
import { cancelRun, createPrismaClient, submitGrid, type PrismaClient } from "@lml/db";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runWorker } from "../src/worker/loop";
import { expectedAcc, stepTrainer } from "./worker.fixture";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, "worker.fixture.ts");
const quiet = pino({ level: process.env.LML_LOG_LEVEL ?? "silent" });
vi.setConfig({ testTimeout: 60_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const postgres = testDatabases().find((t) => t.kind === "postgres")!;
const describePg = postgres.skip ? describe.skip : describe;
if (postgres.skip) console.warn(`[worker.test] ${postgres.skip}`);

describePg(`worker [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
  let db: TestDatabase;
  let n = 0;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(postgres);
  }, 60_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await db?.close();
  });

  /** Queues one run (a fresh grid) and returns its id. */
  async function queueOne(seed: number): Promise<string> {
    const name = `w${++n}`;
    const g = await submitGrid(db.prisma, { name }, null, {
      cells: [{ name: `${name}-run`, config: { regime: "synthetic-only", seed } }],
    });
    const run = await db.prisma.run.findFirstOrThrow({ where: { gridId: g.id } });
    return run.id;
  }

  function startWorker(
    env: Record<string, string>,
  ): ChildProcess & { exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
      cwd: join(here, ".."),
      env: { ...process.env, DATABASE_URL: db.rawUrl, LML_LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    children.push(child);
    const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
    );
    return Object.assign(child, { exited });
  }

  const checkpointStep = async (runId: string) => (await db.prisma.artifact.findFirst({ where: { runId, kind: "checkpoint" } }))?.step ?? 0;

  it("trains a claimed run, streams progress and points, checkpoints, and completes it once", async () => {
    const runId = await queueOne(1);
    const dir = mkdtempSync(join(tmpdir(), "lml-ckpt-"));
    try {
      const summary = await runWorker({
        prisma: db.prisma,
        train: stepTrainer({ totalSteps: 20, msPerStep: 5, checkpointEvery: 5 }),
        idleExit: true,
        leaseMs: 5000,
        checkpointDir: dir,
        logger: quiet,
      });
      expect(summary.runs).toEqual([{ id: runId, name: `w${n}-run`, attempt: 1, outcome: "succeeded" }]);
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true, artifacts: true } });
      expect(run).toMatchObject({ status: "SUCCEEDED", step: 20, totalSteps: 20, progress: 1, backend: "fake", leaseOwner: null });
      expect(run.evaluations.map((e) => [e.testSet, e.nme, e.attempt]).sort()).toEqual([
        ["challenging", expectedAcc(20, 1), 1],
        ["common", expectedAcc(20, 1), 1],
      ]);
      expect(await db.prisma.metricPoint.count({ where: { runId, name: "loss" } })).toBe(20);
      // The shared folder holds the latest checkpoint only; the row points at it.
      const ckpt = run.artifacts.find((a) => a.kind === "checkpoint")!;
      expect(ckpt).toMatchObject({ step: 20, bytes: null });
      expect(existsSync(ckpt.path!)).toBe(true);
      expect(readdirSync(join(dir, runId))).toEqual(["step-20-attempt-1.ckpt"]);
      // The trainer's sample strips are stored with the results, bytes in the table.
      const strip = run.artifacts.find((a) => a.kind === "samples")!;
      expect(strip).toMatchObject({ name: "samples-common-fake.png", mime: "image/png", step: 20, size: 5 });
      expect(Array.from(strip.bytes!)).toEqual([137, 80, 78, 71, 1]);
      const worker = await db.prisma.worker.findUniqueOrThrow({ where: { id: summary.workerId } });
      expect(worker.stoppedAt).not.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails a run at once, without retrying it, when its config does not parse or training rejects its input", async () => {
    // A config stored before today's rules (written straight to the row, as an older version could
    // have): the model rule it breaks would break on every attempt.
    const badConfig = await queueOne(2);
    await db.prisma.run.update({
      where: { id: badConfig },
      data: { config: { regime: "synthetic-only", seed: 2, model: { heatmapSize: 8, depth: 4 } }, maxAttempts: 3 },
    });
    const badData = await queueOne(3);
    let trained = 0;
    const summary = await runWorker({
      prisma: db.prisma,
      // Bad input found while training (a UsageError, e.g. a 300-W folder without faces).
      train: async () => {
        trained++;
        throw new UsageError("data.real.dir /nowhere: no faces for the train split");
      },
      idleExit: true,
      leaseMs: 5000,
      logger: quiet,
    });
    expect(summary.runs.map((r) => r.outcome)).toEqual(["failed", "failed"]);
    expect(trained).toBe(1); // the run with the bad config never reached the trainer
    const runs = await db.prisma.run.findMany({ where: { id: { in: [badConfig, badData] } }, orderBy: { seed: "asc" } });
    expect(runs.map((r) => [r.status, r.attempts])).toEqual([
      ["FAILED", 1],
      ["FAILED", 1],
    ]);
    expect(runs[0].error).toMatch(/invalid config: model\.heatmapSize: .*2\^model\.depth = 16/);
    expect(runs[1].error).toMatch(/data\.real\.dir \/nowhere: no faces for the train split$/);
  });

  it("a worker killed with SIGKILL: the run returns after the lease and another worker resumes it from the checkpoint", async () => {
    const runId = await queueOne(3);
    const env = { LEASE_MS: "1500", HEARTBEAT_MS: "200", TOTAL_STEPS: "40", MS_PER_STEP: "50", CHECKPOINT_EVERY: "5", MAX_RUNS: "1" };
    const a = startWorker({ ...env, WORKER_ID: "doomed" });
    await waitFor("a checkpoint at step 10", async () => (await checkpointStep(runId)) >= 10);
    a.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    const killedAt = await checkpointStep(runId);
    expect((await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe("RUNNING");

    // The next worker (in this process: starting a second one costs seconds) sweeps the expired lease.
    const rescue = await runWorker({
      prisma: db.prisma,
      workerId: "rescuer",
      train: stepTrainer({ totalSteps: 40, msPerStep: 50, checkpointEvery: 5 }),
      leaseMs: 1500,
      heartbeatMs: 200,
      pollMs: 100,
      maxRuns: 1,
      logger: quiet,
    });
    expect(rescue.runs).toMatchObject([{ id: runId, attempt: 2, outcome: "succeeded" }]);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true } });
    expect(run).toMatchObject({ status: "SUCCEEDED", attempts: 2, step: 40 });
    const errors = run.attemptErrors as Array<{ attempt: number; worker: string; error: string }>;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ attempt: 1, worker: "doomed" });
    expect(errors[0].error).toMatch(/lease expired/);
    // Exactly one set of results, from the second attempt, which continued from the checkpoint.
    expect(run.evaluations).toHaveLength(2);
    for (const e of run.evaluations) {
      expect(e.attempt).toBe(2);
      expect(e.nme).toBe(expectedAcc(40, 3));
      expect(e.perLandmark[0]).toBeGreaterThanOrEqual(killedAt);
      expect(e.count).toBe(40 - e.perLandmark[0]);
    }
    expect(run.evaluations[0].perLandmark[0]).toBeGreaterThanOrEqual(10);
    const steps = await db.prisma.metricPoint.findMany({ where: { runId, name: "loss" }, select: { step: true } });
    expect(steps.map((s) => s.step).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }, 120_000);

  it("SIGTERM: finishes the step, checkpoints, releases the run to the queue and exits 0", async () => {
    const runId = await queueOne(2);
    const w = startWorker({
      LEASE_MS: "10000",
      HEARTBEAT_MS: "100",
      TOTAL_STEPS: "400",
      MS_PER_STEP: "20",
      CHECKPOINT_EVERY: "1000",
      WORKER_ID: "termed",
    });
    await waitFor("step 5", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).step >= 5);
    const sentAt = Date.now();
    w.kill("SIGTERM");
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(5000);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    // Back in the queue, the attempt not counted against maxAttempts, the checkpoint at the stop step.
    expect(run).toMatchObject({ status: "QUEUED", attempts: 0, leaseOwner: null, leaseExpiresAt: null });
    const stoppedAt = await checkpointStep(runId);
    expect(stoppedAt).toBeGreaterThanOrEqual(5);
    expect(stoppedAt).toBeLessThan(400);
    expect(run.step).toBe(stoppedAt);
    expect((await db.prisma.worker.findUniqueOrThrow({ where: { id: "termed" } })).stoppedAt).not.toBeNull();

    // The next worker picks it up where it stopped.
    const summary = await runWorker({
      prisma: db.prisma,
      train: stepTrainer({ totalSteps: 400, msPerStep: 0, checkpointEvery: 100 }),
      idleExit: true,
      logger: quiet,
    });
    expect(summary.runs.map((r) => r.outcome)).toEqual(["succeeded"]);
    const evals = await db.prisma.evaluation.findMany({ where: { runId } });
    expect(evals).toHaveLength(2);
    expect(evals[0]).toMatchObject({ attempt: 1, nme: expectedAcc(400, 2), perLandmark: [stoppedAt] });
  }, 120_000);

  it("cancel: the worker stops at its next step and marks the run CANCELED", async () => {
    const runId = await queueOne(4);
    const working = runWorker({
      prisma: db.prisma,
      train: stepTrainer({ totalSteps: 500, msPerStep: 10, checkpointEvery: 50 }),
      idleExit: true,
      leaseMs: 5000,
      heartbeatMs: 50,
      logger: quiet,
    });
    await waitFor("step 5", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).step >= 5);
    expect(await cancelRun(db.prisma, runId)).toEqual({ canceled: 0, requested: 1 });
    const summary = await working;
    expect(summary.runs.map((r) => r.outcome)).toEqual(["canceled"]);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true } });
    expect(run.status).toBe("CANCELED");
    expect(run.step).toBeLessThan(500);
    expect(run.evaluations).toHaveLength(0);
  });

  it("a lost database connection: retries with back-off, keeps training, writes the results once", async () => {
    const runId = await queueOne(5);
    const admin = new pg.Client({ connectionString: db.rawUrl });
    admin.on("error", () => {});
    await admin.connect();
    // The completion's commit succeeds but its answer is "lost" once: the retry must not write twice.
    let dropAnswer = true;
    const flaky = new Proxy(db.prisma, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== "$transaction") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (dropAnswer && result && typeof result === "object" && "written" in result) {
            dropAnswer = false;
            throw new Error("Connection terminated unexpectedly");
          }
          return result;
        };
      },
    }) as PrismaClient;
    try {
      const working = runWorker({
        prisma: flaky,
        databaseUrl: db.rawUrl,
        train: stepTrainer({ totalSteps: 60, msPerStep: 25, checkpointEvery: 5 }),
        idleExit: true,
        leaseMs: 5000,
        heartbeatMs: 100,
        logger: quiet,
      });
      await waitFor("step 10", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).step >= 10);
      // For about a second, every connection to the database is cut as soon as it is made.
      const until = Date.now() + 1000;
      let cut = 0;
      while (Date.now() < until) {
        const { rowCount } = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        cut += rowCount ?? 0;
        await sleep(20);
      }
      expect(cut).toBeGreaterThan(0);
      const summary = await working;
      expect(summary.runs.map((r) => r.outcome)).toEqual(["succeeded"]);
      expect(dropAnswer).toBe(false);
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true } });
      expect(run).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
      expect(run.evaluations).toHaveLength(2);
      expect(run.evaluations[0].nme).toBe(expectedAcc(60, 5));
      expect(run.evaluations[0].count).toBe(60); // trained straight through: never restarted
      expect(await db.prisma.metricPoint.count({ where: { runId } })).toBe(60);
    } finally {
      await admin.end();
    }
  }, 120_000);
});

describe("worker [pglite]", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase({ kind: "pglite" });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("two workers on the embedded PGlite drain a grid correctly, one writer at a time", async () => {
    await submitGrid(db.prisma, { name: "embedded" }, null, {
      cells: Array.from({ length: 6 }, (_, i) => ({
        name: `e${i}`,
        regime: "synthetic-only",
        seed: i,
        config: { regime: "synthetic-only", seed: i },
      })),
    });
    const clients = [0, 1].map(() => createPrismaClient(db.rawUrl, { kind: "pglite" }));
    try {
      const summaries = await Promise.all(
        clients.map((prisma) =>
          runWorker({ prisma, train: stepTrainer({ totalSteps: 6, msPerStep: 1, checkpointEvery: 3 }), idleExit: true, logger: quiet }),
        ),
      );
      const ids = summaries.flatMap((s) => s.runs.map((r) => r.id));
      expect(new Set(ids).size).toBe(6);
      expect(ids).toHaveLength(6);
      expect(await db.prisma.run.count({ where: { status: "SUCCEEDED", attempts: 1 } })).toBe(6);
      expect(await db.prisma.evaluation.count()).toBe(12);
    } finally {
      await Promise.all(clients.map((c) => c.$disconnect()));
    }
  }, 120_000);
});
