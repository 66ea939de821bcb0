// Issue 16 on the queue's side, on PGlite and PostgreSQL: a cancel that arrives while the results are
// being computed wins (16.9), an expired lease records what the owner's Worker row shows (16.4), held
// leases are visible for idle workers and `lml grid status` (16.8), and names are printable text and
// can always be looked up (16.11).
import { MAX_GRID_RUNS, UsageError } from "@lml/core";
import { expect, it } from "vitest";
import {
  cancelRun,
  claimNextRun,
  completeRun,
  heartbeatWorker,
  heldLeases,
  registerWorker,
  requeueExpired,
  resolveGrid,
  stopWorker,
  submitGrid,
  type QueueCell,
} from "../src/queue";
import { describeEachDatabase } from "../src/testing";

const cells = (n: number, prefix = "run"): QueueCell[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, config: { regime: "synthetic-only", seed: i } }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDatabase("queue reliability", (db) => {
  let n = 0;
  /** A fresh grid of one run, claimed by `worker` with a lease of `leaseMs`. */
  async function claimed(worker: string, leaseMs: number) {
    const prisma = db().prisma;
    await prisma.run.updateMany({ where: { status: { in: ["QUEUED", "RUNNING"] } }, data: { status: "CANCELED" } });
    await submitGrid(prisma, { name: `r${++n}` }, null, { cells: cells(1) });
    return (await claimNextRun(prisma, worker, leaseMs))!;
  }

  it("a cancel requested before the results are written wins: CANCELED, no results, checkpoint kept", async () => {
    const prisma = db().prisma;
    const run = await claimed("w1", 10_000);
    expect(await cancelRun(prisma, run.id)).toEqual({ canceled: 0, requested: 1 });
    const result = await completeRun(prisma, {
      runId: run.id,
      workerId: "w1",
      attempt: 1,
      steps: 5,
      evaluations: [
        {
          testSet: "common",
          protocol: "dense",
          norm: "inter-ocular",
          nme: 1,
          auc8: 0,
          fr8: 0,
          auc10: 0,
          fr10: 0,
          count: 1,
          perLandmark: [],
          perImage: [1],
          cedX: [],
          cedY: [],
        },
      ],
    });
    expect(result).toEqual({ written: false, reason: "canceled", status: "CANCELED" });
    const row = await prisma.run.findUniqueOrThrow({ where: { id: run.id }, include: { evaluations: true } });
    expect(row).toMatchObject({ status: "CANCELED", leaseOwner: null, cancelRequested: true });
    expect(row.finishedAt).not.toBeNull();
    expect(row.evaluations).toHaveLength(0);
  });

  it("an expired lease records what the owner's Worker row shows", async () => {
    const prisma = db().prisma;
    const reasonOf = async (id: string) => {
      const row = await prisma.run.findUniqueOrThrow({ where: { id } });
      return (row.attemptErrors as Array<{ error: string }>).at(-1)!.error;
    };
    // No Worker row at all.
    const ghost = await claimed("ghost", 30);
    await sleep(80);
    expect((await requeueExpired(prisma)).requeued).toEqual([ghost.id]);
    expect(await reasonOf(ghost.id)).toMatch(/^lease expired at \S+: worker ghost never registered/);

    // A worker that went silent (killed): its last heartbeat is older than the lease's end.
    await registerWorker(prisma, { id: "silent", host: "h" });
    await heartbeatWorker(prisma, "silent", null);
    const silent = await claimed("silent", 30);
    await sleep(80);
    await requeueExpired(prisma);
    expect(await reasonOf(silent.id)).toMatch(/^lease expired at \S+: worker silent silent since \S+ \(killed, crashed or cut off\)$/);

    // A worker still heart-beating that could not renew the lease: alive, not "died".
    await registerWorker(prisma, { id: "alive", host: "h" });
    const alive = await claimed("alive", 30);
    await sleep(80);
    await heartbeatWorker(prisma, "alive", alive.id);
    await requeueExpired(prisma);
    expect(await reasonOf(alive.id)).toMatch(
      /^lease expired at \S+: worker alive is still alive \(last heartbeat \S+\) but did not renew the lease/,
    );

    // A worker that stopped without giving the run back.
    await registerWorker(prisma, { id: "quitter", host: "h" });
    const quit = await claimed("quitter", 30);
    await stopWorker(prisma, "quitter");
    await sleep(80);
    await requeueExpired(prisma);
    expect(await reasonOf(quit.id)).toMatch(/^lease expired at \S+: worker quitter stopped at \S+ without giving the run back$/);
  });

  it("lists held leases by the database clock, expired ones negative", async () => {
    const prisma = db().prisma;
    const run = await claimed("holder", 1500);
    const g = await prisma.run.findUniqueOrThrow({ where: { id: run.id }, select: { gridId: true } });
    const [lease] = await heldLeases(prisma, g.gridId!);
    expect(lease).toMatchObject({ id: run.id, leaseOwner: "holder" });
    expect(lease.expiresInMs).toBeGreaterThan(0);
    expect(lease.expiresInMs).toBeLessThanOrEqual(1500);
    await sleep(1600);
    expect((await heldLeases(prisma)).find((l) => l.id === run.id)!.expiresInMs).toBeLessThan(0);
    expect(await heldLeases(prisma, "00000000-0000-4000-8000-000000000000")).toEqual([]);
  });

  it("names are printable text, refused before any query; a UUID-shaped name can be looked up", async () => {
    const prisma = db().prisma;
    const uuidName = "0d7f3c1e-5b4a-4c2d-9e8f-a1b2c3d4e5f6";
    const g = await submitGrid(prisma, { name: uuidName }, null, { cells: cells(1) });
    expect((await resolveGrid(prisma, uuidName)).id).toBe(g.id);
    expect((await resolveGrid(prisma, g.id)).name).toBe(uuidName);

    for (const [ref, shown] of [
      ["a\0b", '"a\\u0000b" contains a control character (U+0000)'],
      ["a\ud800", '"a\\ud800" contains a lone surrogate (U+D800)'],
      ["x\x1b[2J", '"x\\u001b[2J" contains a control character (U+001B)'],
    ]) {
      await expect(resolveGrid(prisma, ref)).rejects.toThrow(
        new UsageError(`grid reference ${shown} at character 2; names must be printable text`),
      );
      await expect(submitGrid(prisma, { name: ref }, null, { cells: cells(1) })).rejects.toThrow(`grid name ${shown}`);
    }
    await expect(
      submitGrid(prisma, { name: "ok" }, null, { cells: [{ name: "run\nfake log line", config: { regime: "synthetic-only" } }] }),
    ).rejects.toThrow('grid "ok": run 0: name "run\\nfake log line" contains a control character (U+000A)');
    await expect(submitGrid(prisma, { name: "huge" }, null, { cells: cells(MAX_GRID_RUNS + 1) })).rejects.toThrow(
      `grid "huge": 1001 runs, more than the 1000 one grid may hold`,
    );
    expect(await prisma.grid.count({ where: { name: { in: ["ok", "huge"] } } })).toBe(0);
  });
});
