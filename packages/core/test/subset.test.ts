import { describe, expect, it } from "vitest";
import {
  IBUG68,
  UsageError,
  exportSubsetTable,
  ibugSubset,
  makeSubsetTable,
  nearestSubset,
  parseSubsetTable,
  selectSubset,
  subsetCollisions,
  type LandmarkScheme,
} from "../src";

/** A 3·68-point dense scheme: each iBug point appears (slightly moved) at index 3i+1 among two decoys. */
function denseAroundIbug(): LandmarkScheme {
  const n = 68 * 3;
  const t = new Float32Array(2 * n);
  for (let i = 0; i < 68; i++) {
    const x = IBUG68.template[2 * i];
    const y = IBUG68.template[2 * i + 1];
    // Decoys 0.05 away (more than the 0.001 offset of the true match, less than most point spacings).
    t.set([x + 0.05, y], 2 * (3 * i));
    t.set([x + 0.001, y - 0.001], 2 * (3 * i + 1));
    t.set([x, y + 0.05], 2 * (3 * i + 2));
  }
  return { id: "dense-204", count: n, groups: Array(n).fill("face"), mirror: Int32Array.from({ length: n }, (_, i) => i), template: t };
}

describe("nearestSubset", () => {
  it("picks the closest dense point for each iBug point", () => {
    const idx = nearestSubset(denseAroundIbug(), IBUG68);
    expect(Array.from(idx)).toEqual(Array.from({ length: 68 }, (_, i) => 3 * i + 1));
  });
  it("maps iBug68 onto itself as the identity", () => {
    expect(Array.from(nearestSubset(IBUG68, IBUG68))).toEqual(Array.from({ length: 68 }, (_, i) => i));
  });
  it("restricts to the same group when asked", () => {
    const dense: LandmarkScheme = {
      id: "d2",
      count: 2,
      groups: ["jaw", "eyes"],
      mirror: Int32Array.from([0, 1]),
      template: Float32Array.from([0, 0, 10, 10]),
    };
    const ibug: LandmarkScheme = {
      id: "i1",
      count: 1,
      groups: ["eyes"],
      mirror: Int32Array.from([0]),
      template: Float32Array.from([0.1, 0]),
    };
    expect(nearestSubset(dense, ibug)[0]).toBe(0);
    expect(nearestSubset(dense, ibug, { sameGroup: true })[0]).toBe(1);
  });
});

describe("selectSubset", () => {
  it("gathers the chosen points from every shape of a batch", () => {
    const batch = Float32Array.from([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]); // 2 shapes × 3 points
    expect(Array.from(selectSubset(batch, 3, Int32Array.from([2, 0])))).toEqual([4, 5, 0, 1, 14, 15, 10, 11]);
  });
});

describe("subset tables", () => {
  const dense = denseAroundIbug();
  it("round-trips through JSON and checks the schemes", () => {
    const text = exportSubsetTable(makeSubsetTable(dense, IBUG68, { reviewedBy: "me", version: 2 }));
    const t = parseSubsetTable(text, "map.json", { dense, ibug: IBUG68 });
    expect(t.version).toBe(2);
    expect(t.reviewedBy).toBe("me");
    expect(Array.from(t.indicesArray)).toEqual(Array.from(nearestSubset(dense, IBUG68)));
    expect(t.distances![0]).toBeCloseTo(Math.SQRT2 * 0.001, 5);
  });
  const base = { version: 1, dense: "dense-204", ibug: "ibug68", indices: Array.from({ length: 68 }, (_, i) => i) };
  it.each<[string, unknown, RegExp]>([
    ["bad version", { ...base, version: 0 }, /map\.json: version: /],
    ["negative index", { ...base, indices: [-1, ...base.indices.slice(1)] }, /map\.json: indices\.0: /],
    ["index ≥ denseCount", { ...base, denseCount: 10 }, /indices\.10: index 10 ≥ denseCount 10/],
    ["unknown key", { ...base, extra: 1 }, /map\.json: .*extra/],
    ["wrong dense id", { ...base, dense: "other" }, /dense: table is for "other", not "dense-204"/],
    ["wrong length", { ...base, indices: [1, 2] }, /indices: expected 68 entries, got 2/],
    ["out of range for the scheme", { ...base, indices: [...base.indices.slice(1), 999] }, /indices\.67: 999 out of range 0\.\.203/],
  ])("rejects %s", (_, table, message) => {
    expect(() => parseSubsetTable(JSON.stringify(table), "map.json", { dense, ibug: IBUG68 })).toThrow(message);
  });
  it("rejects invalid JSON with the file name", () => {
    expect(() => parseSubsetTable("{", "map.json")).toThrow(UsageError);
    expect(() => parseSubsetTable("{", "map.json")).toThrow(/map\.json: not valid JSON/);
  });
});

describe("ibugSubset: the one mapping a run uses (issue 14.1)", () => {
  const dense = denseAroundIbug();
  /** iBug68 with its mouth closed: each lower inner-lip point on its upper partner (61/67, 62/66, 63/65). */
  const closedMouth = (): LandmarkScheme => {
    const template = Float32Array.from(IBUG68.template);
    for (const [up, low] of [
      [61, 67],
      [62, 66],
      [63, 65],
    ])
      template.set(template.slice(2 * up, 2 * up + 2), 2 * low);
    return { ...IBUG68, template };
  };

  it("is the nearest subset when every iBug point has its own dense point", () => {
    expect(Array.from(ibugSubset(dense, IBUG68))).toEqual(Array.from({ length: 68 }, (_, i) => 3 * i + 1));
    expect(subsetCollisions(ibugSubset(dense, IBUG68))).toEqual([]);
  });

  it("refuses a template on which inner lips share a dense point, naming them", () => {
    expect(subsetCollisions(nearestSubset(dense, closedMouth()))).toEqual([
      [61, 67],
      [62, 66],
      [63, 65],
    ]);
    expect(() => ibugSubset(dense, closedMouth())).toThrow(UsageError);
    expect(() => ibugSubset(dense, closedMouth())).toThrow(
      "nearest subset dense-204 → ibug68: iBug points 61 and 67 share dense point 184; iBug points 62 and 66 share dense point 187; " +
        "iBug points 63 and 65 share dense point 190 (every iBug point needs its own dense point: is the template's mouth closed?)",
    );
  });

  it("takes a reviewed table that fits the schemes, and refuses one that does not or that maps two points to one", () => {
    const table = { ...makeSubsetTable(dense, IBUG68), version: 3 };
    table.indices[0] = 0; // a reviewer's choice: the decoy, not the nearest
    expect(ibugSubset(dense, IBUG68, table)[0]).toBe(0);
    expect(() => ibugSubset(dense, IBUG68, { ...table, dense: "other" })).toThrow(
      /subset table other → ibug68 v3: dense: table is for "other"/,
    );
    expect(() => ibugSubset(dense, IBUG68, { ...table, indices: table.indices.slice(1), distances: undefined })).toThrow(
      /expected 68 entries, got 67/,
    );
    const twice = { ...table, indices: table.indices.map((v, i) => (i === 67 ? table.indices[61] : v)) };
    expect(() => ibugSubset(dense, IBUG68, twice)).toThrow(/iBug points 61 and 67 share dense point 184/);
  });
});
