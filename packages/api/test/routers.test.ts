import { IBUG68 } from "@lml/core";
import { describeEachDatabase } from "@lml/db/testing";
import { TRPCError } from "@trpc/server";
import { expect, it } from "vitest";
import { createCaller, type Context } from "../src/index";

const SPEC = `
name: tiny-study
method: grid
parameters:
  regime: [synthetic-only, syn-real-label-adaptation]
  seed: [1, 2]
defaults:
  train: { epochs: 1 }
`;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
  return "OK";
}

describeEachDatabase("api routers", (db) => {
  const ctx = (extra: Partial<Context> = {}): Context => ({ prisma: db().prisma, getScheme: (n) => (n === 68 ? IBUG68 : null), ...extra });
  const api = () => createCaller(ctx());

  it("lists no grids on an empty database, and reports health", async () => {
    const list = await api().grids.list();
    expect(list).toMatchObject({ items: [], total: 0, page: 1 });
    const health = await api().health();
    expect(health.db.reachable).toBe(true);
    expect(health.migrations.upToDate).toBe(true);
  });

  it("previews a spec: runs on success, the field path on error", async () => {
    const ok = await api().grids.preview({ text: SPEC, fileName: "tiny.yaml" });
    expect(ok.ok && ok.runs.map((r) => [r.regime, r.seed])).toEqual([
      ["synthetic-only", 1],
      ["synthetic-only", 2],
      ["syn-real-label-adaptation", 1],
      ["syn-real-label-adaptation", 2],
    ]);
    const bad = await api().grids.preview({ text: SPEC.replace("epochs: 1", "epochs: fast"), fileName: "tiny.yaml" });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/tiny\.yaml: defaults\.train\.epochs/);
    expect(await code(api().grids.preview({ text: "", fileName: "x.yaml" }))).toBe("BAD_REQUEST");
  });

  it("rejects a model the trainer cannot build before submit, with lml grid submit's message", async () => {
    const text = SPEC.replace("train: { epochs: 1 }", "train: { epochs: 1 }\n  model: { heatmapSize: 8, depth: 4 }");
    // The message lml grid submit prints for the same file (core's parser and expansion, file name = basename).
    const cli =
      "inconsistent.yaml: cell 0 (regime=synthetic-only, seed=1): model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)";
    expect(await api().grids.preview({ text, fileName: "inconsistent.yaml" })).toEqual({ ok: false, error: cli });
    const submitted = api().grids.submit({ text, fileName: "inconsistent.yaml" });
    await expect(submitted).rejects.toMatchObject({ code: "BAD_REQUEST", message: cli });
    expect(await db().prisma.grid.count({ where: { name: "tiny-study" } })).toBe(0);
  });

  let gridId = "";
  it("submits a grid, refuses a duplicate name unless forced, and lists its counts", async () => {
    const sub = await api().grids.submit({ text: SPEC, fileName: "tiny.yaml" });
    expect(sub.runs).toBe(4);
    gridId = sub.id;
    expect(await code(api().grids.submit({ text: SPEC }))).toBe("BAD_REQUEST");
    expect(await code(api().grids.submit({ text: "name: [", fileName: "broken.yaml" }))).toBe("BAD_REQUEST");
    const list = await api().grids.list({ page: 1, pageSize: 10 });
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ name: "tiny-study", total: 4, counts: { QUEUED: 4, RUNNING: 0 }, progress: 0 });
    const grid = await api().grids.get({ id: gridId });
    expect(grid.specText).toBe(SPEC);
  });

  it("requires the token for mutations when one is configured", async () => {
    const locked = (token: string | null) => createCaller(ctx({ requiredToken: "s3cret", token }));
    expect(await code(locked(null).grids.submit({ text: SPEC, force: true }))).toBe("UNAUTHORIZED");
    expect(await code(locked("nope").grids.cancel({ id: gridId }))).toBe("FORBIDDEN");
    // Reads stay open.
    expect((await locked(null).grids.list()).total).toBe(1);
  });

  it("rejects bad inputs with BAD_REQUEST and unknown ids with NOT_FOUND", async () => {
    expect(await code(api().grids.get({ id: "not-a-uuid" }))).toBe("BAD_REQUEST");
    expect(await code(api().grids.get({ id: "00000000-0000-4000-8000-000000000000" }))).toBe("NOT_FOUND");
    expect(await code(api().runs.list({ page: 0 }))).toBe("BAD_REQUEST");
    expect(await code(api().runs.list({ pageSize: 5000 }))).toBe("BAD_REQUEST");
    expect(await code(api().runs.compare({ ids: ["00000000-0000-4000-8000-000000000000"] }))).toBe("BAD_REQUEST");
    expect(await code(api().evaluations.studyTables({ norm: "inter-pupil" }))).toBe("BAD_REQUEST");
    expect(await code(api().evaluations.studyTables({ gridId, norm: "nope" as "bbox" }))).toBe("BAD_REQUEST");
    expect(await code(api().evaluations.studyTables({ gridId, groupBy: ["bad path!"] }))).toBe("BAD_REQUEST");
    expect(await code(api().runs.requeue({ id: "00000000-0000-4000-8000-000000000000" }))).toBe("NOT_FOUND");
  });

  // Results: the tiny grid's runs get evaluations, curves and workers written the way the trainer would.
  {
    const perImage = (base: number) => Array.from({ length: 30 }, (_, i) => base + ((i * 7) % 10) / 10);
    let runs: { id: string; regime: string; seed: number }[] = [];
    it("builds the study tables from the stored evaluations", async () => {
      const prisma = db().prisma;
      runs = await prisma.run.findMany({
        where: { gridId },
        orderBy: { createdAt: "asc" },
        select: { id: true, regime: true, seed: true },
      });
      const nme: Record<string, number> = {};
      for (const [i, r] of runs.entries()) {
        const base = (r.regime === "synthetic-only" ? 8 : 5) + r.seed * 0.1;
        nme[r.id] = base;
        await prisma.run.update({
          where: { id: r.id },
          data: { status: "SUCCEEDED", progress: 1, startedAt: new Date(Date.now() - 60_000), finishedAt: new Date() },
        });
        await prisma.evaluation.createMany({
          data: ["nearest-subset", "test-time-mlp"].map((protocol) => ({
            runId: r.id,
            testSet: "common",
            protocol,
            norm: "inter-pupil",
            nme: base - (protocol === "test-time-mlp" ? 1 : 0),
            auc8: 50 + i,
            fr8: 10 - i,
            auc10: 60,
            fr10: 5,
            count: 30,
            perLandmark: Array.from({ length: 68 }, (_, k) => base + k / 100),
            perImage: perImage(base - (protocol === "test-time-mlp" ? 1 : 0)),
            cedX: [0, 5, 10],
            cedY: [0, 0.5, 1],
          })),
        });
        await prisma.metricPoint.createMany({
          data: [0, 1, 2].map((step) => ({ runId: r.id, name: "loss", step, value: 1 / (step + 1) })),
        });
      }
      const res = await api().evaluations.studyTables({ gridId, norm: "inter-pupil", metric: "nme" });
      expect(res.runCount).toBe(4);
      expect(res.params.map((p) => p.path)).toEqual(["regime"]);
      const [ns, mlp] = res.tables;
      expect(ns.protocol).toBe("nearest-subset");
      const synth = ns.rows.find((r) => r.regime === "synthetic-only")!.cells.common!;
      expect(synth.n).toBe(2);
      expect(synth.mean).toBeCloseTo(8.15, 10);
      const best = mlp.rows.find((r) => r.regime === "syn-real-label-adaptation")!.cells.common!;
      expect(best.best).toBe(true);
      expect(best.mean).toBeCloseTo(4.15, 10);
      expect(best.vsNext?.significance).toBe("significant");
      // Another norm has no rows.
      const io = await api().evaluations.studyTables({ gridId, norm: "inter-ocular" });
      expect(io.evaluationCount).toBe(0);
    });

    it("exports the same numbers as CSV", async () => {
      const file = await api().evaluations.export({ format: "csv", table: { gridId } });
      expect(file.filename).toBe("tiny-study-nme-inter-pupil.csv");
      expect(file.content).toContain("test-time-mlp,Syn+real with label adaptation,syn-real-label-adaptation,,,,,,4.15,");
      const tex = await api().evaluations.export({ format: "latex", table: { gridId } });
      expect(tex.content).toContain("\\bottomrule");
    });

    it("serves curves, run details, the heatmap template and comparisons", async () => {
      const [a, b] = runs;
      const series = await api().runs.metrics({ ids: [a.id] });
      expect(series).toEqual([{ runId: a.id, name: "loss", points: [0, 1, 2].map((s) => ({ step: s, epoch: null, value: 1 / (s + 1) })) }]);
      const run = await api().runs.get({ id: a.id });
      expect(run.evaluations).toHaveLength(2);
      expect(run.metricNames).toEqual(["loss"]);
      const lm = await api().evaluations.landmarks({ runId: a.id, testSet: "common", protocol: "test-time-mlp", norm: "inter-pupil" });
      expect(lm.values).toHaveLength(68);
      expect(lm.scheme?.template).toHaveLength(136);
      expect(await code(api().evaluations.landmarks({ runId: a.id, testSet: "challenging", protocol: "dense", norm: "inter-pupil" }))).toBe(
        "NOT_FOUND",
      );
      const cmp = await api().runs.compare({ ids: [a.id, runs[2].id] });
      expect(cmp.diff.map((d) => d.path)).toEqual(["regime"]);
      expect(cmp.runs.map((r) => r.id)).toEqual([a.id, runs[2].id]);
      const page = await api().runs.list({ gridId, pageSize: 3, page: 2, sort: "seed", dir: "asc" });
      expect(page.total).toBe(4);
      expect(page.items).toHaveLength(1);
      // Curves of several runs in one query: one series per run, each with its own points.
      const both = await api().runs.metrics({ ids: [a.id, b.id] });
      expect(both.map((s) => s.runId).sort()).toEqual([a.id, b.id].sort());
      for (const s of both) expect(s.points.map((p) => p.step)).toEqual([0, 1, 2]);
    });

    it("cancels and re-queues through the queue", async () => {
      const prisma = db().prisma;
      await prisma.run.update({ where: { id: runs[0].id }, data: { status: "FAILED", error: "boom" } });
      await prisma.run.update({ where: { id: runs[1].id }, data: { status: "QUEUED" } });
      expect(await code(api().runs.requeue({ id: runs[1].id }))).toBe("BAD_REQUEST");
      const c = await api().grids.cancel({ id: gridId });
      expect(c).toMatchObject({ canceled: 1, requested: 0 });
      expect(await api().grids.requeueFailed({ id: gridId })).toEqual({ requeued: 1 });
      const counts = (await api().grids.get({ id: gridId })).counts;
      expect(counts).toMatchObject({ QUEUED: 1, CANCELED: 1, SUCCEEDED: 2 });
      expect(await api().runs.requeue({ id: runs[1].id })).toBe(true);
    });

    it("lists workers with their state", async () => {
      const prisma = db().prisma;
      await prisma.worker.create({ data: { id: "w-1", host: "h", pid: 1, lastHeartbeat: new Date(), currentRunId: runs[0].id } });
      await prisma.worker.create({ data: { id: "w-2", host: "h", pid: 2, lastHeartbeat: new Date(Date.now() - 3_600_000) } });
      const w = await api().workers.list();
      expect(w.items.map((x) => [x.id, x.state])).toEqual([
        ["w-1", "alive"],
        ["w-2", "lost"],
      ]);
      expect(w.items[0].currentRun?.id).toBe(runs[0].id);
    });
  }
});
