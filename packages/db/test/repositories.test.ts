import { UsageError } from "@lml/core";
import { expect, it } from "vitest";
import {
  appendMetricPoints,
  ConstraintError,
  createGrid,
  getArtifact,
  getMetricPoints,
  getRun,
  listArtifacts,
  listEvaluations,
  listGrids,
  putArtifact,
  RunStatus,
  writeEvaluations,
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

describeEachDatabase("repositories", (db) => {
  it("round-trips a grid, its runs, curves, evaluations and artifacts", async () => {
    const { prisma } = db();
    const spec = { name: "ablation-a", regimes: ["synthetic", "mixed"] };
    const grid = await createGrid(prisma, spec, "name: ablation-a\n", [
      { name: "synthetic_s1", regime: "synthetic", config: { lr: 1e-3 }, seed: 1, totalSteps: 100 },
      { name: "mixed_s1", regime: "mixed", config: { lr: 1e-3 }, seed: 1, priority: 5 },
    ]);
    expect(grid.runs.map((r) => r.name).sort()).toEqual(["mixed_s1", "synthetic_s1"]);
    expect(grid.runs.every((r) => r.status === RunStatus.QUEUED && r.gridId === grid.id)).toBe(true);

    await prisma.run.update({ where: { id: grid.runs[0]!.id }, data: { status: RunStatus.RUNNING } });
    const [summary] = await listGrids(prisma, { name: "ablation-a" });
    expect(summary).toMatchObject({ id: grid.id, name: "ablation-a", specText: "name: ablation-a\n", total: 2 });
    expect(summary!.spec).toEqual(spec);
    expect(summary!.counts).toEqual({ QUEUED: 1, RUNNING: 1, SUCCEEDED: 0, FAILED: 0, CANCELED: 0 });

    const run = await getRun(prisma, grid.runs[1]!.id);
    expect(run).toMatchObject({ id: grid.runs[1]!.id, config: { lr: 1e-3 }, grid: { id: grid.id, name: "ablation-a" } });
    expect(await getRun(prisma, MISSING)).toBeNull();

    const runId = run!.id;
    const points = [0, 1, 2].map((step) => ({ name: "loss", step, value: 1 / (step + 1), epoch: step / 10 }));
    expect(await appendMetricPoints(prisma, runId, points)).toBe(3);
    // A retried batch (same keys, one value changed, one NaN) leaves one row per key with the new values.
    expect(await appendMetricPoints(prisma, runId, [...points.slice(0, 2), { name: "loss", step: 2, value: Number.NaN }])).toBe(3);
    const curve = await getMetricPoints(prisma, runId, "loss");
    expect(curve.map((p) => [p.step, p.value])).toEqual([[0, 1], [1, 0.5], [2, Number.NaN]]);
    expect(curve[1]!.epoch).toBeCloseTo(0.1);

    await writeEvaluations(prisma, runId, [evaluation(4.1)]);
    const [again] = await writeEvaluations(prisma, runId, [{ ...evaluation(3.9), attempt: 2 }]);
    const evals = await listEvaluations(prisma, runId);
    expect(evals).toHaveLength(1);
    expect(evals[0]).toMatchObject({ id: again!.id, nme: 3.9, attempt: 2, perLandmark: [1, 2, 3.5], cedY: [0, 0.5, 1] });

    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const stored = await putArtifact(prisma, { runId, kind: "checkpoint", name: "step-100", bytes, step: 100, mime: "application/octet-stream" });
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

  it("rolls the whole grid back when one run cannot be written", async () => {
    const { prisma } = db();
    const before = await prisma.grid.count();
    // seed beyond int4 passes zod's int check but not the column: the transaction must leave nothing.
    await expect(
      createGrid(prisma, { name: "half" }, null, [
        { name: "ok", regime: "x", config: {}, seed: 1 },
        { name: "too-big", regime: "x", config: {}, seed: 2 ** 40 },
      ]),
    ).rejects.toThrow();
    expect(await prisma.grid.count()).toBe(before);
  });

  it("names the constraint when a write refers to a missing run", async () => {
    const { prisma } = db();
    const err = await appendMetricPoints(prisma, MISSING, [{ name: "loss", step: 0, value: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintError);
    expect((err as ConstraintError).code).toBe("foreign-key");
    expect((err as Error).message).toMatch(new RegExp(`appendMetricPoints for run ${MISSING}: refers to a row that does not exist \\(foreign key .*MetricPoint_runId_fkey`));
    await expect(writeEvaluations(prisma, MISSING, [evaluation(1)])).rejects.toThrow(/writeEvaluations for run .*: refers to a row that does not exist/);
    await expect(putArtifact(prisma, { runId: MISSING, kind: "samples", name: "a.png", bytes: new Uint8Array([1]) })).rejects.toBeInstanceOf(ConstraintError);
  });

  it("reports a unique-key clash on a direct insert clearly", async () => {
    const { prisma } = db();
    const grid = await createGrid(prisma, { name: "dup" }, null, [{ name: "r", regime: "x", config: {}, seed: 1 }]);
    const runId = grid.runs[0]!.id;
    await writeEvaluations(prisma, runId, [evaluation(2)]);
    // The repository upserts; a raw create of the same key shows what the unique index guarantees.
    const { rethrowConstraint } = await import("../src/errors");
    const err = await prisma.evaluation
      .create({ data: { runId, ...evaluation(2) } })
      .catch((e: unknown) => rethrowConstraint(e, "insert evaluation"))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintError);
    expect((err as Error).message).toMatch(/^insert evaluation: already exists \(unique constraint on .*(runId|Evaluation_runId_testSet_protocol_norm_key)/);
  });

  it("rejects bad input before touching the database, naming the field", async () => {
    const { prisma } = db();
    await expect(getRun(prisma, "not-a-uuid")).rejects.toThrow(UsageError);
    await expect(appendMetricPoints(prisma, MISSING, [{ name: "loss", step: -1, value: 1 }])).rejects.toThrow(/appendMetricPoints: points: 0\.step/);
    await expect(
      createGrid(prisma, { name: "dups" }, null, [
        { name: "a", regime: "x", config: {}, seed: 1 },
        { name: "a", regime: "x", config: {}, seed: 2 },
      ]),
    ).rejects.toThrow(/createGrid: runs\.1\.name: duplicate run name "a"/);
    await expect(writeEvaluations(prisma, MISSING, [{ ...evaluation(1), cedY: [1] }])).rejects.toThrow(/0\.cedY: cedX and cedY must have the same length/);
    await expect(putArtifact(prisma, { runId: MISSING, kind: "k", name: "n" })).rejects.toThrow(/give exactly one of bytes or path/);
  });
});
