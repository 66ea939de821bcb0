/**
 * Issue 16.1 at the worker: a run whose spec reads outside the dataset roots — the reported
 * `data.real: {source: 300w, dir: /etc, trainList: /etc/passwd}`, queued straight into the database as
 * a config accepted elsewhere could be — is claimed by a worker running the real trainer, refused before
 * any file is read, failed at once (one attempt, no retry), and its Run.error (served without a token
 * by runs.list) carries no file content.
 */
import { submitGrid } from "@lml/db";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train } from "../src/train";
import { runWorker } from "../src/worker/loop";

const postgres = testDatabases().find((t) => t.kind === "postgres")!;
const describePg = postgres.skip ? describe.skip : describe;
if (postgres.skip) console.warn(`[worker-data-paths.test] ${postgres.skip}`);

describePg(`worker refuses data paths outside the dataset roots [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(postgres);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("fails the reported leak at once, with an error that quotes nothing", async () => {
    await submitGrid(db.prisma, { name: "leak" }, null, {
      cells: [
        {
          name: "leak/seed=1",
          config: { regime: "supervised-real", data: { real: { source: "300w", dir: "/etc", trainList: "/etc/passwd" } } },
        },
      ],
    });
    const summary = await runWorker({ prisma: db.prisma, train, idleExit: true, leaseMs: 10_000, logger: pino({ level: "silent" }) });
    expect(summary.runs.map((r) => r.outcome)).toEqual(["failed"]);
    const run = await db.prisma.run.findFirstOrThrow({ where: { name: "leak/seed=1" } });
    expect([run.status, run.attempts]).toEqual(["FAILED", 1]);
    expect(run.error).toMatch(/data\.real\.dir: \/etc is outside every dataset root/);
    expect(run.error).not.toMatch(/root:|nologin|bash|daemon/);
  }, 120_000);
});
