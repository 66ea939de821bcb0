// The results tables' caches (whole results by the runs' fingerprint; paired tests once per pair of
// cells) and the live.changes subscription, on both databases.
import { openChangeFeed, submitGrid, type ChangeFeed } from "@lml/db";
import { describeEachDatabase } from "@lml/db/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createCaller, resultsCacheStats, type LiveEvent } from "../src/index";
import { fixtureEvaluations } from "../src/testing";

describeEachDatabase("results cache and live changes", (db, target) => {
  const api = (changes?: ChangeFeed) => createCaller({ prisma: db().prisma, changes });
  let gridId = "";
  let runIds: string[] = [];

  beforeAll(async () => {
    const g = await submitGrid(db().prisma, { name: "cache-study" }, null, {
      cells: ["synthetic-only", "syn-real-label-adaptation", "uda-discriminator"].flatMap((regime) =>
        [1, 2, 3].map((seed) => ({ name: `${regime}-${seed}`, config: { regime, seed } })),
      ),
    });
    gridId = g.id;
    const runs = await db().prisma.run.findMany({ where: { gridId }, orderBy: { createdAt: "asc" } });
    runIds = runs.map((r) => r.id);
    // Succeed all but the last run, with evaluations written the worker's way.
    for (const r of runs.slice(0, -1)) {
      await db().prisma.run.update({ where: { id: r.id }, data: { status: "SUCCEEDED", progress: 1 } });
      await db().prisma.evaluation.createMany({
        data: fixtureEvaluations({ regime: r.regime, seed: r.seed, scheme: 243, images: 30 }).map((e) => ({ ...e, runId: r.id })),
      });
    }
  });

  it("builds the tables once while the runs they read do not change, and again when one does", async () => {
    const input = { gridId, norm: "inter-pupil" as const };
    const builds = resultsCacheStats.tableBuilds;
    const first = await api().evaluations.studyTables(input);
    expect(resultsCacheStats.tableBuilds).toBe(builds + 1);
    const again = await api().evaluations.studyTables(input);
    expect(resultsCacheStats.tableBuilds).toBe(builds + 1);
    expect(again.tables).toBe(first.tables);
    expect(first.runCount).toBe(8);

    // Progress of a run that is not in the tables moves nothing.
    await db().prisma.run.update({ where: { id: runIds[8] }, data: { status: "RUNNING", progress: 0.5 } });
    await api().evaluations.studyTables(input);
    expect(resultsCacheStats.tableBuilds).toBe(builds + 1);

    // It succeeds with its evaluations: rebuilt, and the new run counts.
    const last = await db().prisma.run.findUniqueOrThrow({ where: { id: runIds[8] } });
    await db().prisma.evaluation.createMany({
      data: fixtureEvaluations({ regime: last.regime, seed: last.seed, scheme: 243, images: 30 }).map((e) => ({ ...e, runId: last.id })),
    });
    await db().prisma.run.update({ where: { id: last.id }, data: { status: "SUCCEEDED", progress: 1 } });
    const after = await api().evaluations.studyTables(input);
    expect(resultsCacheStats.tableBuilds).toBe(builds + 2);
    expect(after.runCount).toBe(9);
    expect(after.tables).not.toBe(first.tables);

    // An evaluation rewritten in place (a re-run) changes the numbers: rebuilt again.
    await db().prisma.evaluation.updateMany({ where: { runId: runIds[0], norm: "inter-pupil" }, data: { nme: 99 } });
    const rewritten = await api().evaluations.studyTables(input);
    expect(resultsCacheStats.tableBuilds).toBe(builds + 3);
    const cell = rewritten.tables[0].rows.find((r) => r.regime === "synthetic-only")!.cells.common!;
    expect(cell.mean).toBeGreaterThan(30);
  });

  it("runs each paired test once per pair of cells, whichever metric or view asks", async () => {
    const input = { gridId, norm: "inter-ocular" as const };
    const before = resultsCacheStats.pairTestsComputed;
    const nme = await api().evaluations.studyTables({ ...input, metric: "nme" });
    // FR@10 may rank other rows first: its pairs are tested once too.
    await api().evaluations.studyTables({ ...input, metric: "fr10" });
    const computed = resultsCacheStats.pairTestsComputed - before;
    expect(computed).toBeGreaterThan(0);
    // Other views of the same cells (every status, the other metric again) test nothing new.
    await api().evaluations.studyTables({ ...input, metric: "nme", allStatuses: true });
    await api().evaluations.studyTables({ ...input, metric: "fr10", allStatuses: true });
    expect(resultsCacheStats.pairTestsComputed - before).toBe(computed);
    const marked = nme.tables.flatMap((t) => t.rows.flatMap((r) => Object.values(r.cells))).filter((c) => c?.vsNext);
    expect(marked.length).toBeGreaterThan(0);
    expect(marked.every((c) => c!.vsNext!.significance !== "untestable")).toBe(true);
  });

  it("attaches reference rows beside the tables when asked, never ranked", async () => {
    const res = await api().evaluations.studyTables({ gridId, norm: "inter-pupil", reference: true });
    const [ns] = res.tables;
    expect(ns.references!.map((r) => r.key)).toContain("published:table1:syn-real-label-adaptation");
    expect(ns.references!.every((r) => r.kind === "published" || r.kind === "peer")).toBe(true);
    expect(ns.rows.some((r) => r.key.startsWith("published:"))).toBe(false);
    const plain = await api().evaluations.studyTables({ gridId, norm: "inter-pupil" });
    expect(plain.tables[0].references).toBeUndefined();
  });

  {
    let feed: ChangeFeed;
    beforeAll(() => {
      feed = openChangeFeed(db().rawUrl, target.kind, { pollMs: 50 });
    });
    afterAll(() => feed.close());

    it("streams a ready event, then the runs that change; resync after a reconnect", async () => {
      // In-process, a subscription is an async iterable of tracked() envelopes: [id, data, symbol].
      type Envelope = [string, LiveEvent];
      const stream = (await api(feed).live.changes()) as AsyncIterable<Envelope>;
      const it = stream[Symbol.asyncIterator]();
      const [firstId, first] = (await it.next()).value!;
      expect(first).toMatchObject({ kind: "ready", live: true, resync: false, mode: target.kind === "pglite" ? "poll" : "listen" });
      await db().prisma.run.update({ where: { id: runIds[1] }, data: { progress: 0.99 } });
      const seen: LiveEvent[] = [];
      while (!seen.some((e) => e.kind === "change" && e.runs?.includes(runIds[1]))) seen.push((await it.next()).value![1]);
      await it.return?.();

      const again = (await api(feed).live.changes({ lastEventId: firstId })) as AsyncIterable<Envelope>;
      const it2 = again[Symbol.asyncIterator]();
      expect((await it2.next()).value![1]).toMatchObject({ kind: "ready", resync: true });
      await it2.return?.();
    });

    it("refuses to stream without a feed", async () => {
      const stream = (await api().live.changes()) as AsyncIterable<unknown>;
      await expect(stream[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    });
  }
});
