import { UsageError } from "@lml/core";
import { expect, it } from "vitest";
import {
  appendMetricPoints,
  ConstraintError,
  getArtifact,
  getMetricPoints,
  getRun,
  listArtifacts,
  listEvaluations,
  listGrids,
  putArtifact,
  RUN_STATUSES,
  RunStatus,
  submitGrid,
  writeEvaluations,
  type PrismaClient,
} from "../src/index";
import { describeEachDatabase } from "../src/testing";

const MISSING = "00000000-0000-4000-8000-000000000000";

const evaluation = (nme: number) => ({
  testSet: "common",
  protocol: "dense",
  norm: "inter-ocular",
  nme,
  auc8: 0.5,
  fr8: 1.2,
  auc10: 0.6,
  fr10: 0.4,
  count: 3,
  perLandmark: [1, 2, 3.5],
  perImage: [3, 4, 5],
  cedX: [0, 5, 10],
  cedY: [0, 0.5, 1],
});

/** A submitted grid and its runs, in queue order. */
async function gridWithRuns(prisma: PrismaClient, name: string, cells: { name: string; config: unknown }[], specExtra: object = {}) {
  const grid = await submitGrid(prisma, { name, ...specExtra }, `name: ${name}\n`, { cells });
  const runs = await prisma.run.findMany({ where: { gridId: grid.id }, orderBy: { createdAt: "asc" } });
  return { ...grid, runs };
}

describeEachDatabase("repositories", (db) => {
  it("keeps Prisma's RunStatus enum and core's run statuses the same list", () => {
    expect(Object.values(RunStatus)).toEqual([...RUN_STATUSES]);
  });

  it("round-trips a grid, its runs, curves, evaluations and artifacts", async () => {
    const { prisma } = db();
    const spec = { name: "ablation-a", priority: 5 };
    const grid = await gridWithRuns(
      prisma,
      "ablation-a",
      [
        { name: "synthetic_s1", config: { regime: "synthetic-only", seed: 1, train: { lr: 1e-3 } } },
        { name: "mixed_s1", config: { regime: "syn-real-label-adaptation", seed: 1, train: { lr: 1e-3 } } },
      ],
      { priority: 5 },
    );
    expect(grid.runs.map((r) => r.name)).toEqual(["synthetic_s1", "mixed_s1"]);
    expect(grid.runs.every((r) => r.status === RunStatus.QUEUED && r.gridId === grid.id && r.priority === 5)).toBe(true);
    // The regime and seed columns come from the parsed config, which is stored whole (defaults filled in).
    expect(grid.runs.map((r) => [r.regime, r.seed])).toEqual([
      ["synthetic-only", 1],
      ["syn-real-label-adaptation", 1],
    ]);
    expect(grid.runs[1]!.config).toMatchObject({ regime: "syn-real-label-adaptation", seed: 1, train: { lr: 1e-3, transferHidden: 256 } });

    await prisma.run.update({ where: { id: grid.runs[0]!.id }, data: { status: RunStatus.RUNNING } });
    const [summary] = await listGrids(prisma, { name: "ablation-a" });
    expect(summary).toMatchObject({ id: grid.id, name: "ablation-a", specText: "name: ablation-a\n", total: 2 });
    expect(summary!.spec).toEqual(spec);
    expect(summary!.counts).toEqual({ QUEUED: 1, RUNNING: 1, SUCCEEDED: 0, FAILED: 0, CANCELED: 0 });

    const run = await getRun(prisma, grid.runs[1]!.id);
    expect(run).toMatchObject({ id: grid.runs[1]!.id, config: { train: { lr: 1e-3 } }, grid: { id: grid.id, name: "ablation-a" } });
    expect(await getRun(prisma, MISSING)).toBeNull();

    const runId = run!.id;
    const points = [0, 1, 2].map((step) => ({ name: "loss", step, value: 1 / (step + 1), epoch: step / 10 }));
    expect(await appendMetricPoints(prisma, runId, points)).toBe(3);
    // A retried batch (same keys, one value changed, one NaN) leaves one row per key with the new values.
    expect(await appendMetricPoints(prisma, runId, [...points.slice(0, 2), { name: "loss", step: 2, value: Number.NaN }])).toBe(3);
    const curve = await getMetricPoints(prisma, runId, "loss");
    expect(curve.map((p) => [p.step, p.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, Number.NaN],
    ]);
    expect(curve[1]!.epoch).toBeCloseTo(0.1);

    expect(await writeEvaluations(prisma, runId, [evaluation(4.1), { ...evaluation(4.2), testSet: "challenging" }])).toBe(2);
    // A second write replaces the run's set whole: no stale cell of the first is left beside it.
    expect(await writeEvaluations(prisma, runId, [{ ...evaluation(3.9), attempt: 2 }])).toBe(1);
    const evals = await listEvaluations(prisma, runId);
    expect(evals).toHaveLength(1);
    expect(evals[0]).toMatchObject({ testSet: "common", nme: 3.9, attempt: 2, perLandmark: [1, 2, 3.5], cedY: [0, 0.5, 1] });

    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const stored = await putArtifact(prisma, {
      runId,
      kind: "checkpoint",
      name: "step-100",
      bytes,
      step: 100,
      mime: "application/octet-stream",
    });
    expect(stored).toMatchObject({ size: 6, step: 100 });
    expect("bytes" in stored).toBe(false);
    const back = await getArtifact(prisma, { runId, kind: "checkpoint", name: "step-100" });
    expect([...back!.bytes!]).toEqual([...bytes]);
    expect((await getArtifact(prisma, stored.id))?.id).toBe(stored.id);
    await putArtifact(prisma, { runId, kind: "checkpoint", name: "step-100", path: "/shared/ckpt-100.bin" });
    const replaced = await getArtifact(prisma, stored.id);
    expect(replaced).toMatchObject({ path: "/shared/ckpt-100.bin", bytes: null, size: 0 });
    expect(await listArtifacts(prisma, runId)).toHaveLength(1);

    // Deleting the grid cascades to runs and everything they logged.
    await prisma.grid.delete({ where: { id: grid.id } });
    expect(await prisma.metricPoint.count({ where: { runId } })).toBe(0);
  });

  it("writes no grid when one run's config is bad, naming the run and the field", async () => {
    const { prisma } = db();
    const before = await prisma.grid.count();
    // A seed beyond the int4 column is caught by the RunConfig schema before anything is written.
    await expect(
      submitGrid(prisma, { name: "half" }, null, {
        cells: [
          { name: "ok", config: { regime: "synthetic-only", seed: 1 } },
          { name: "too-big", config: { regime: "synthetic-only", seed: 2 ** 40 } },
        ],
      }),
    ).rejects.toThrow(/^grid "half": run "too-big": config: seed: must be ≤ 2147483647, got 1099511627776$/);
    await expect(
      submitGrid(prisma, { name: "half" }, null, {
        cells: [{ name: "deep", config: { regime: "synthetic-only", model: { heatmapSize: 8, depth: 4 } } }],
      }),
    ).rejects.toThrow('grid "half": run "deep": config: model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)');
    expect(await prisma.grid.count()).toBe(before);
  });

  it("names the constraint when a write refers to a missing run", async () => {
    const { prisma } = db();
    const err = await appendMetricPoints(prisma, MISSING, [{ name: "loss", step: 0, value: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintError);
    expect((err as ConstraintError).code).toBe("foreign-key");
    expect((err as Error).message).toMatch(
      new RegExp(`appendMetricPoints for run ${MISSING}: refers to a row that does not exist \\(foreign key .*MetricPoint_runId_fkey`),
    );
    await expect(writeEvaluations(prisma, MISSING, [evaluation(1)])).rejects.toThrow(
      /writeEvaluations for run .*: refers to a row that does not exist/,
    );
    await expect(
      putArtifact(prisma, { runId: MISSING, kind: "samples", name: "a.png", bytes: new Uint8Array([1]) }),
    ).rejects.toBeInstanceOf(ConstraintError);
  });

  it("reports a unique-key clash on a direct insert clearly", async () => {
    const { prisma } = db();
    const grid = await gridWithRuns(prisma, "dup", [{ name: "r", config: { regime: "synthetic-only" } }]);
    const runId = grid.runs[0]!.id;
    await writeEvaluations(prisma, runId, [evaluation(2)]);
    // The repository replaces a run's set; a raw create of the same key shows what the unique index guarantees.
    const { rethrowConstraint } = await import("../src/errors");
    const err = await prisma.evaluation
      .create({ data: { runId, ...evaluation(2) } })
      .catch((e: unknown) => rethrowConstraint(e, "insert evaluation"))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintError);
    expect((err as Error).message).toMatch(
      /^insert evaluation: already exists \(unique constraint on .*(runId|Evaluation_runId_testSet_protocol_norm_key)/,
    );
  });

  it("rejects bad input before touching the database, naming the field", async () => {
    const { prisma } = db();
    await expect(getRun(prisma, "not-a-uuid")).rejects.toThrow(UsageError);
    await expect(appendMetricPoints(prisma, MISSING, [{ name: "loss", step: -1, value: 1 }])).rejects.toThrow(
      /appendMetricPoints: points: 0\.step/,
    );
    await expect(
      submitGrid(prisma, { name: "dups" }, null, {
        cells: [
          { name: "a", config: { regime: "synthetic-only", seed: 1 } },
          { name: "a", config: { regime: "synthetic-only", seed: 2 } },
        ],
      }),
    ).rejects.toThrow(/^grid "dups": run 1: duplicate run name "a" \(run 0 has it\)$/);
    await expect(writeEvaluations(prisma, MISSING, [{ ...evaluation(1), cedY: [1] }])).rejects.toThrow(
      /0\.cedY: cedX and cedY must have the same length/,
    );
    await expect(putArtifact(prisma, { runId: MISSING, kind: "k", name: "n" })).rejects.toThrow(/give exactly one of bytes or path/);
  });
});
