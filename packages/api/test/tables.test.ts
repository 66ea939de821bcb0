import { describe, expect, it } from "vitest";
import { buildStudyTables, differingParams, exportTable, exportTables, type EvaluationLike, type RunLike } from "../src/index-pure";

function evalRow(runId: string, testSet: string, protocol: string, nme: number, perImage: number[], norm = "inter-pupil"): EvaluationLike {
  return {
    runId,
    testSet,
    protocol,
    norm,
    nme,
    auc8: 100 - nme,
    fr8: nme / 10,
    auc10: 100 - nme / 2,
    fr10: nme / 20,
    count: perImage.length,
    perImage,
  };
}

const runs: RunLike[] = [
  { id: "a1", regime: "synthetic-only", seed: 1, config: { regime: "synthetic-only", seed: 1, model: { stacks: 2 } } },
  { id: "a2", regime: "synthetic-only", seed: 2, config: { regime: "synthetic-only", seed: 2, model: { stacks: 2 } } },
  {
    id: "b1",
    regime: "syn-real-label-adaptation",
    seed: 1,
    config: { regime: "syn-real-label-adaptation", seed: 1, model: { stacks: 4 } },
  },
  { id: "c1", regime: "supervised-real", seed: 1, config: { regime: "supervised-real", seed: 1, model: { stacks: 2 } } },
];
const imgs = (base: number, n = 20) => Array.from({ length: n }, (_, i) => base + (i % 5) * 0.1);
const evaluations = [
  evalRow("a1", "common", "nearest-subset", 8.4, imgs(8.4)),
  evalRow("a2", "common", "nearest-subset", 8.6, imgs(8.6)),
  evalRow("a1", "synthetic-test", "dense", 3.6, imgs(3.6)),
  evalRow("a2", "synthetic-test", "dense", 3.62, imgs(3.62)),
  evalRow("b1", "common", "nearest-subset", 5.0, imgs(5.0)),
  evalRow("b1", "common", "test-time-mlp", 3.8, imgs(3.8)),
  evalRow("c1", "common", "direct", 6.5, imgs(6.5)),
  evalRow("a1", "common", "nearest-subset", 1.0, imgs(1.0), "inter-ocular"),
];

describe("buildStudyTables", () => {
  const [t1, t2] = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "nme" });

  it("averages seeds into mean ± std with n, per protocol, ignoring other norms", () => {
    expect(t1.protocol).toBe("nearest-subset");
    expect(t1.rows.map((r) => r.regime)).toEqual(["synthetic-only", "syn-real-label-adaptation", "supervised-real"]);
    const c = t1.rows[0].cells.common!;
    expect(c.mean).toBeCloseTo(8.5, 10);
    expect(c.std).toBeCloseTo(Math.sqrt(0.02), 10);
    expect(c.n).toBe(2);
    expect(c.images).toBe(20);
  });

  it("falls back to dense on the synthetic test set and to direct for 68-point models", () => {
    expect(t1.rows[0].cells["synthetic-test"]!.protocols).toEqual(["dense"]);
    expect(t2.rows[0].cells["synthetic-test"]!.mean).toBeCloseTo(3.61, 10);
    expect(t1.rows[2].cells.common!.protocols).toEqual(["direct"]);
    expect(t1.rows[1].cells.challenging).toBeNull();
  });

  it("marks the best per column and tests it against the runner-up over images", () => {
    const best = t1.rows[1].cells.common!;
    expect(best.best).toBe(true);
    expect(best.vsNext?.rowKey).toBe("supervised-real");
    expect(best.vsNext?.significance).toBe("significant");
    expect(t1.rows[0].cells.common!.best).toBe(false);
  });

  it("prefers higher AUC", () => {
    const [auc] = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "auc8" });
    expect(auc.rows.find((r) => r.cells.common?.best)!.regime).toBe("syn-real-label-adaptation");
    const [fr] = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "fr8" });
    expect(fr.rows.find((r) => r.cells.common?.best)!.regime).toBe("syn-real-label-adaptation");
  });

  it("groups and filters by config fields", () => {
    const [g] = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "nme", groupBy: ["model.stacks"] });
    expect(g.rows.map((r) => r.label)).toContain("Synthetic only, model.stacks=2");
    const [f] = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "nme", filter: { "model.stacks": 4 } });
    expect(f.rows.map((r) => r.regime)).toEqual(["syn-real-label-adaptation"]);
  });

  it("reports untied results as not significant when images agree", () => {
    const near = [
      evalRow("a1", "common", "nearest-subset", 5.5, [5, 6, 5, 6, 5, 6, 5, 6]),
      evalRow("b1", "common", "nearest-subset", 5.51, [6, 5, 5.04, 5, 6, 5, 6, 5.04]),
    ];
    const [t] = buildStudyTables(near, runs, { norm: "inter-pupil", metric: "nme" });
    expect(t.rows.find((r) => r.cells.common?.best)!.cells.common!.vsNext!.significance).toBe("not-significant");
  });
});

describe("exports", () => {
  const tables = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "nme" });
  it("CSV carries the unrounded means", () => {
    const csv = exportTables(tables, "csv");
    const lines = csv.trim().split("\n");
    expect(lines[0]).toContain("common_mean");
    expect(lines[1]).toContain("8.5");
    expect(lines.length).toBe(1 + 3 + 3);
  });
  it("Markdown bolds the best and LaTeX uses booktabs", () => {
    const md = exportTable(tables[0], "md");
    expect(md).toContain("**5.000** (n=1)");
    expect(md).toContain("8.500 ± 0.141 (n=2)");
    const tex = exportTable(tables[0], "latex");
    expect(tex).toContain("\\toprule");
    expect(tex).toContain("\\textbf{5.000}");
    expect(tex).toContain("8.500 $\\pm$ 0.141");
  });
  it("lists differing params", () => {
    expect(differingParams(runs.map((r) => r.config)).map((p) => p.path)).toEqual(["model.stacks", "regime", "seed"]);
  });
});
