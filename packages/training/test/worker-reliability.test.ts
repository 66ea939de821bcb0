// Issue 16 on the worker's side, against PostgreSQL with real worker processes (test/worker.fixture.ts):
// a long synchronous stretch (a data set render) cannot let another worker take a live run (16.4), a
// hung training thread does let go of its run (16.4), --idle-exit waits out a dead peer's lease
// (16.8), a cancel that arrives while the results are computed ends the run CANCELED (16.9), and
// the database's own words reach the logs (16.10).
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cancelRun, claimNextRun, requeueExpired, submitGrid } from "@lml/db";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { errorText } from "../src/worker/error-text";
import { runWorker } from "../src/worker/loop";
import { stepTrainer } from "./worker.fixture";

vi.setConfig({ testTimeout: 120_000 });
const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, "worker.fixture.ts");
const quiet = pino({ level: process.env.LML_LOG_LEVEL ?? "silent" });
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

describePg(`worker reliability [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
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

  async function queueOne(seed: number): Promise<string> {
    await db.prisma.run.updateMany({ where: { status: "QUEUED" }, data: { status: "CANCELED" } });
    const g = await submitGrid(db.prisma, { name: `rel${++n}` }, null, {
      cells: [{ name: `rel${n}-run`, config: { regime: "synthetic-only", seed } }],
    });
    return (await db.prisma.run.findFirstOrThrow({ where: { gridId: g.id } })).id;
  }

  function startWorker(env: Record<string, string>) {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
      cwd: join(here, ".."),
      env: { ...process.env, DATABASE_URL: db.rawUrl, LML_LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    children.push(child);
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
    return Object.assign(child, { exited });
  }

  /** What another worker does on every claim attempt, every 100 ms until `done`: sweep, then claim. */
  async function thief(done: Promise<unknown>): Promise<string[]> {
    const stolen: string[] = [];
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      await requeueExpired(db.prisma);
      const run = await claimNextRun(db.prisma, "thief", 60_000);
      if (run) stolen.push(run.id);
      await sleep(100);
    }
    return stolen;
  }

  it("a synchronous stretch three times the lease (a data set render) does not let another worker take the live run", async () => {
    const runId = await queueOne(1);
    // Lease 3 s, the "render" 10 s: before issue 16.4 the lease expired mid-render and the run was taken.
    const w = startWorker({
      LEASE_MS: "3000",
      HEARTBEAT_MS: "200",
      BLOCK_MS: "10000",
      TOTAL_STEPS: "5",
      MS_PER_STEP: "10",
      MAX_RUNS: "1",
      WORKER_ID: "renderer",
    });
    await waitFor("the claim", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status === "RUNNING");
    const stolen = await thief(w.exited);
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(stolen).toEqual([]);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run).toMatchObject({ status: "SUCCEEDED", attempts: 1, attemptErrors: [] });
  });

  it("a training thread that hangs past stallMs lets its lease expire, and the reason says the worker was alive", async () => {
    const runId = await queueOne(2);
    // Silent for 2 s counts as hung here (15 minutes by default); the lease (3 s) then runs out mid-"render".
    const w = startWorker({
      LEASE_MS: "3000",
      HEARTBEAT_MS: "200",
      BLOCK_MS: "10000",
      STALL_MS: "2000",
      TOTAL_STEPS: "5",
      MS_PER_STEP: "10",
      MAX_RUNS: "1",
      WORKER_ID: "hung",
    });
    await waitFor("the claim", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status === "RUNNING");
    const stolen = await thief(
      waitFor("the thief's claim", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).leaseOwner === "thief"),
    );
    expect(stolen).toEqual([runId]);
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr, exit.stderr).toMatch(/the training thread did not respond for \d+ s: letting the lease expire/);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true } });
    // The hung worker wrote nothing when it woke up; the thief holds the run.
    expect(run).toMatchObject({ status: "RUNNING", leaseOwner: "thief", attempts: 2 });
    expect(run.evaluations).toHaveLength(0);
    const errors = run.attemptErrors as Array<{ worker: string; error: string }>;
    expect(errors).toHaveLength(1);
    expect(errors[0].worker).toBe("hung");
    expect(errors[0].error).toMatch(/worker hung is still alive \(last heartbeat \S+\) but did not renew the lease/);
    await db.prisma.run.update({ where: { id: runId }, data: { status: "CANCELED", leaseOwner: null } });
  });

  it("--idle-exit waits out a dead peer's lease, then resumes its run instead of exiting", async () => {
    const runId = await queueOne(3);
    const peer = startWorker({
      LEASE_MS: "12000",
      HEARTBEAT_MS: "200",
      TOTAL_STEPS: "400",
      MS_PER_STEP: "20",
      CHECKPOINT_EVERY: "5",
      WORKER_ID: "doomed-peer",
    });
    await waitFor(
      "a checkpoint",
      async () => ((await db.prisma.artifact.findFirst({ where: { runId, kind: "checkpoint" } }))?.step ?? 0) >= 5,
    );
    peer.kill("SIGKILL");
    await peer.exited;
    // Its lease (12 s) outlasts the latecomer's start: the queue looks empty when the latecomer first looks.
    const summary = await runWorker({
      prisma: db.prisma,
      workerId: "latecomer",
      train: stepTrainer({ totalSteps: 400, msPerStep: 0, checkpointEvery: 100 }),
      idleExit: true,
      pollMs: 100,
      logger: quiet,
    });
    expect(summary.runs, JSON.stringify(summary.runs)).toMatchObject([{ id: runId, attempt: 2, outcome: "succeeded" }]);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe("SUCCEEDED");
    expect((run.attemptErrors as Array<{ error: string }>)[0].error).toMatch(/worker doomed-peer silent since/);
  });

  it("--idle-exit does not wait for a live peer's run", async () => {
    const runId = await queueOne(4);
    const peer = startWorker({
      LEASE_MS: "60000",
      HEARTBEAT_MS: "200",
      TOTAL_STEPS: "100000",
      MS_PER_STEP: "20",
      CHECKPOINT_EVERY: "100000",
      WORKER_ID: "live-peer",
    });
    await waitFor("the peer's first steps", async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).step >= 2);
    const started = Date.now();
    const summary = await runWorker({
      prisma: db.prisma,
      train: stepTrainer({ totalSteps: 1, msPerStep: 0, checkpointEvery: 1 }),
      idleExit: true,
      pollMs: 100,
      logger: quiet,
    });
    expect(summary.runs).toEqual([]);
    expect(Date.now() - started).toBeLessThan(30_000); // its lease was seen renewed: no wait for the 60 s lease
    peer.kill("SIGTERM");
    expect((await peer.exited).code).toBe(0);
  });

  it("a cancel that arrives while the final results are computed ends the run CANCELED, without results", async () => {
    const runId = await queueOne(5);
    const finishing = stepTrainer({ totalSteps: 3, msPerStep: 0, checkpointEvery: 3 });
    const summary = await runWorker({
      prisma: db.prisma,
      // The cancel comes in after the last poll of shouldStop (as during a final evaluation that ignores it).
      train: async (config, hooks) => {
        const result = await finishing(config, hooks);
        await cancelRun(db.prisma, runId);
        return result;
      },
      idleExit: true,
      logger: quiet,
    });
    expect(summary.runs.map((r) => r.outcome)).toEqual(["canceled"]);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { evaluations: true } });
    expect(run).toMatchObject({ status: "CANCELED", cancelRequested: true });
    expect(run.evaluations).toHaveLength(0);
  });

  it("logs what the database said, not only Prisma's preamble", async () => {
    const err = await db.prisma.$queryRaw`SELECT ${125_000_000_000}::int AS steps`.then(
      () => null,
      (e: unknown) => e,
    );
    const text = errorText(err);
    // Before: "Invalid `prisma.$queryRaw()` invocation:" and nothing else.
    expect(text).toMatch(
      /^Invalid `prisma\.\$queryRaw\(\)` invocation: Raw query failed\. Code: `22003`\. Message: `value "125000000000" is out of range for type integer` \[P2010\]$/,
    );
    expect(
      errorText(new Error("outer", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) })),
    ).toBe("outer; caused by: connect ECONNREFUSED 127.0.0.1:1");
  });
});
