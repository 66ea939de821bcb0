// Issue 16 as `lml grid` shows it: a dead worker's run is taken back by `grid status` and `grid
// requeue` (it stayed RUNNING with an expired lease and "requeued 0", 16.8), with a hint saying so;
// names that are not printable text are a usage error, exit 2, not a stack trace (16.11).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { claimNextRun, submitGrid } from "@lml/db";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 120_000 });
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const CLI = join(here, "..", "src", "cli.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lml(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: root,
      env: { ...process.env, LML_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("lml grid: names that are not printable text", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lml-names-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a NUL byte or an ANSI escape in a spec's name, and an escape in a grid reference (exit 2, escaped)", async () => {
    const spec = join(dir, "nul.json");
    writeFileSync(spec, JSON.stringify({ name: "a\u0000b", method: "grid", parameters: { regime: ["synthetic-only"] } }));
    const noDb = { DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" };
    const [submit, status] = await Promise.all([lml(["grid", "submit", spec], noDb), lml(["grid", "status", "red\u001b[31m"], noDb)]);
    expect([submit.code, submit.stderr]).toEqual([
      2,
      'lml: nul.json: name: contains a control character (U+0000) at character 2; names must be printable text, got "a\\u0000b"\n',
    ]);
    // Refused before the database is reached (there is none at that URL).
    expect([status.code, status.stderr]).toEqual([
      2,
      'lml: grid reference "red\\u001b[31m" contains a control character (U+001B) at character 4; names must be printable text\n',
    ]);
  });
});

const postgres = testDatabases().find((t) => t.kind === "postgres")!;
const describePg = postgres.skip ? describe.skip : describe;

describePg(`lml grid and dead workers [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(postgres);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  /** A grid of one run held by a worker that died: RUNNING, lease expired, nobody sweeping. */
  async function stranded(name: string): Promise<{ gridId: string; runId: string }> {
    const g = await submitGrid(db.prisma, { name }, null, { cells: [{ name: `${name}/seed=1`, config: { regime: "synthetic-only" } }] });
    const run = (await claimNextRun(db.prisma, "dead-worker", 50))!;
    await sleep(100);
    return { gridId: g.id, runId: run.id };
  }

  it("grid status takes back a dead worker's expired lease and says so; grid requeue too", async () => {
    const env = { DATABASE_URL: db.rawUrl };
    // One after the other: each sweeps every expired lease, not only its grid's.
    const a = await stranded("stranded-a");
    const status = await lml(["grid", "status", "stranded-a"], env);
    await db.prisma.run.update({ where: { id: a.runId }, data: { status: "CANCELED" } }); // out of the next claim's way
    const b = await stranded("stranded-b");
    const requeue = await lml(["grid", "requeue", "stranded-b"], env);

    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/: 1 runs — 1 queued\n/);
    expect(status.stdout).toContain(
      "hint: 1 run held by a worker whose lease had expired (it died, was killed or cut off) taken back just now: " +
        "1 queued again (they resume from their checkpoints), 0 failed (attempts used up), 0 canceled (a cancel was pending)\n",
    );
    expect(status.stdout).toMatch(/hint: 1 queued run and no worker heart-beat in the last 60 s: start one with `npm run -s lml -- work`/);
    // Before issue 16.8: RUNNING with the expired lease, and "requeued 0".
    expect(requeue.code, requeue.stderr).toBe(0);
    expect(requeue.stdout).toBe(
      `grid ${b.gridId}: queued again 1 run whose worker's lease had expired\ngrid ${b.gridId}: requeued 0 failed or canceled runs\n`,
    );
    const runs = await db.prisma.run.findMany({ where: { id: { in: [a.runId, b.runId] } } });
    expect(runs.map((r) => r.leaseOwner)).toEqual([null, null]);
    expect(runs.find((r) => r.id === b.runId)?.status).toBe("QUEUED");
    for (const r of runs) expect((r.attemptErrors as Array<{ error: string }>)[0].error).toMatch(/worker dead-worker never registered/);
  });
});
