import { describe, expect, it } from "vitest";
import { UsageError, aucAt, cedCurve, evaluateShapes, failureRate, nme, normaliserOf, normalisers } from "../src";

/**
 * A hand-made iBug68 GT: right eye 36–41 around (0,0) with corners (−1,0) and (1,0), left eye 42–47 the
 * same around (10,0) with corners (9,0) and (11,0); point 0 at (−5,−3), point 8 at (15,17), all other
 * points at (5,5). So inter-pupil = 10, inter-ocular = |36−45| = 12, bbox = sqrt(20·20) = 20.
 */
function handGt(): Float32Array {
  const g = new Float32Array(136).fill(5);
  const eye: [number, number][] = [
    [-1, 0],
    [-0.5, -0.5],
    [0.5, -0.5],
    [1, 0],
    [0.5, 0.5],
    [-0.5, 0.5],
  ];
  eye.forEach(([x, y], k) => {
    g.set([x, y], 2 * (36 + k));
    g.set([x + 10, y], 2 * (42 + k));
  });
  g.set([-5, -3], 0);
  g.set([15, 17], 16);
  return g;
}

/** GT with point 0 moved by (3,4) (error 5) and point 1 by (0,6) (error 6): 11 px of error in total. */
function handPred(): Float32Array {
  const p = handGt();
  p[0] += 3;
  p[1] += 4;
  p[3] += 6;
  return p;
}

function similarity(shape: Float32Array, s: number, deg: number, tx: number, ty: number): Float32Array {
  const c = Math.cos((deg * Math.PI) / 180);
  const n = Math.sin((deg * Math.PI) / 180);
  const out = new Float32Array(shape.length);
  for (let i = 0; i < shape.length; i += 2) {
    out[i] = s * (c * shape[i] - n * shape[i + 1]) + tx;
    out[i + 1] = s * (n * shape[i] + c * shape[i + 1]) + ty;
  }
  return out;
}

describe("normalisers", () => {
  it("computes inter-pupil, inter-ocular and bbox distances by hand", () => {
    expect(normaliserOf(handGt(), "inter-pupil")).toBeCloseTo(10, 6);
    expect(normaliserOf(handGt(), "inter-ocular")).toBeCloseTo(12, 6);
    expect(normaliserOf(handGt(), "bbox")).toBeCloseTo(20, 6);
    expect(Array.from(normalisers([handGt(), similarity(handGt(), 2, 0, 0, 0)], "inter-pupil"))).toEqual([10, 20]);
  });
  it("rejects a degenerate normaliser with a clear error", () => {
    const flat = new Float32Array(136); // every point at the origin
    expect(() => normaliserOf(flat, "inter-ocular", "img7.pts")).toThrow(UsageError);
    expect(() => normaliserOf(flat, "inter-ocular", "img7.pts")).toThrow(/img7\.pts: degenerate inter-ocular normaliser \(0\)/);
    const nan = handGt();
    nan[2 * 45] = NaN;
    expect(() => normaliserOf(nan, "inter-ocular")).toThrow(/degenerate inter-ocular normaliser \(NaN\)/);
    expect(() => normaliserOf(new Float32Array(10), "bbox", "x")).toThrow(/x: bbox normalisation needs 68 iBug68 points, got 5/);
  });
});

describe("NME", () => {
  it("matches hand-computed values for each normalisation", () => {
    expect(nme(handPred(), handGt(), "inter-pupil")).toBeCloseTo((100 * 11) / (68 * 10), 6);
    expect(nme(handPred(), handGt(), "inter-ocular")).toBeCloseTo((100 * 11) / (68 * 12), 6);
    expect(nme(handPred(), handGt(), "bbox")).toBeCloseTo((100 * 11) / (68 * 20), 6);
    expect(nme(handPred(), handGt(), 11)).toBeCloseTo(100 / 68, 6);
  });
  it("gives 50 for a prediction shifted by half the pupil distance", () => {
    const shifted = handGt().map((v, k) => v + (k % 2 === 0 ? 3 : 4)); // every point off by 5 = 10/2
    expect(nme(shifted, handGt(), "inter-pupil")).toBeCloseTo(50, 5);
  });
  it("is unchanged when prediction and GT are rotated, scaled and translated together", () => {
    // 30° keeps eye distances; bbox is only rotation-invariant for multiples of 90°, hence 90° there.
    for (const [norm, deg, expected] of [
      ["inter-pupil", 30, 1100 / 680],
      ["inter-ocular", 30, 1100 / 816],
      ["bbox", 90, 1100 / 1360],
    ] as const) {
      const p = similarity(handPred(), 2.5, deg, 7, -3);
      const g = similarity(handGt(), 2.5, deg, 7, -3);
      expect(nme(p, g, norm)).toBeCloseTo(expected, 4);
    }
  });
  it("scores a rotated copy of the GT by the arc each point travels", () => {
    // Rotating by θ about the right pupil (0,0) moves a point at radius r by 2·r·sin(θ/2).
    const g = handGt();
    const p = similarity(g, 1, 10, 0, 0);
    let sum = 0;
    for (let i = 0; i < 68; i++) sum += 2 * Math.hypot(g[2 * i], g[2 * i + 1]) * Math.sin((5 * Math.PI) / 180);
    expect(nme(p, g, "inter-pupil")).toBeCloseTo((100 * sum) / 68 / 10, 4);
  });
});

describe("CED, AUC and failure rate", () => {
  const perImage = [2, 4, 9];
  it("computes AUC@t as the area under the CED over t", () => {
    expect(aucAt(perImage, 8)).toBeCloseTo((6 + 4 + 0) / 24, 12);
    expect(aucAt(perImage, 10)).toBeCloseTo((8 + 6 + 1) / 30, 12);
    expect(aucAt([0, 0], 8)).toBe(1);
    // The exact area agrees with a fine trapezoid rule over the CED curve.
    const { x, y } = cedCurve(perImage, { max: 8, step: 0.001 });
    let area = 0;
    for (let k = 1; k < x.length; k++) area += ((y[k] + y[k - 1]) / 2) * (x[k] - x[k - 1]);
    expect(area / 8).toBeCloseTo(aucAt(perImage, 8), 3);
  });
  it("counts failures strictly above the threshold", () => {
    expect(failureRate(perImage, 8)).toBeCloseTo(1 / 3, 12);
    expect(failureRate(perImage, 9)).toBe(0);
    expect(failureRate(perImage, 10)).toBe(0);
  });
  it("builds the CED as the fraction of images with NME ≤ x", () => {
    const { x, y } = cedCurve(perImage, { max: 10, step: 0.1 });
    expect(x).toHaveLength(101);
    expect(x[3]).toBe(0.3);
    expect(y[x.indexOf(3.9)]).toBeCloseTo(1 / 3);
    expect(y[x.indexOf(4)]).toBeCloseTo(2 / 3);
    expect(y[100]).toBe(1);
    expect(y[0]).toBe(0);
  });
});

describe("evaluateShapes", () => {
  it("aggregates per image and per landmark with a named normalisation", () => {
    const g2 = similarity(handGt(), 2, 0, 0, 0); // pupil distance 20
    const p2 = g2.slice();
    p2[2 * 67] += 20; // point 67 off by 20 = one normaliser → 100 for that point
    const r = evaluateShapes([handPred(), p2], [handGt(), g2], { norm: "inter-pupil" });
    const img0 = (100 * 11) / (68 * 10);
    const img1 = 100 / 68;
    expect(r.count).toBe(2);
    expect(r.perImage[0]).toBeCloseTo(img0, 5);
    expect(r.perImage[1]).toBeCloseTo(img1, 5);
    expect(r.nme).toBeCloseTo((img0 + img1) / 2, 5);
    expect(r.perLandmark).toHaveLength(68);
    expect(r.perLandmark[0]).toBeCloseTo(50 / 2, 5); // 5/10·100 on image 0, 0 on image 1
    expect(r.perLandmark[1]).toBeCloseTo(60 / 2, 5);
    expect(r.perLandmark[67]).toBeCloseTo(100 / 2, 5);
    expect(r.perLandmark[30]).toBe(0);
    expect(r.auc8).toBeCloseTo((8 - img0 + 8 - img1) / 16, 6);
    expect(r.fr8).toBe(0);
    expect(r.auc10).toBeCloseTo((10 - img0 + 10 - img1) / 20, 6);
    expect(r.cedX).toHaveLength(r.cedY.length);
    // The same data as one flat batch gives the same result.
    const flat = evaluateShapes(Float32Array.from([...handPred(), ...p2]), Float32Array.from([...handGt(), ...g2]), {
      norm: "inter-pupil",
    });
    expect(flat.perImage).toEqual(r.perImage);
  });

  it("accepts caller-supplied normalisers for dense (non-68) shapes", () => {
    // Two 3-point shapes; errors 3-4-5 triangles.
    const gts = [Float32Array.from([0, 0, 1, 1, 2, 2]), Float32Array.from([0, 0, 0, 0, 0, 0])];
    const preds = [Float32Array.from([3, 4, 1, 1, 2, 2]), Float32Array.from([0, 0, 3, 4, 3, 4])];
    const r = evaluateShapes(preds, gts, { norm: { name: "inter-ocular", perImage: [10, 20] } });
    expect(r.perImage[0]).toBeCloseTo(50 / 3, 10);
    expect(r.perImage[1]).toBeCloseTo((25 + 25) / 3, 10);
    expect(r.perLandmark).toEqual([25, 12.5, 12.5]);
    // Flat batches infer N from the number of normalisers.
    const flat = evaluateShapes(Float32Array.from([...preds[0], ...preds[1]]), Float32Array.from([...gts[0], ...gts[1]]), {
      norm: { name: "io", perImage: Float64Array.from([10, 20]) },
    });
    expect(flat.perLandmark).toEqual(r.perLandmark);
  });

  it.each<[string, () => unknown, RegExp]>([
    ["count mismatch", () => evaluateShapes([handPred()], [handGt(), handGt()], { norm: "bbox" }), /1 predictions but 2 GT shapes/],
    [
      "point mismatch",
      () => evaluateShapes([new Float32Array(6)], [new Float32Array(8)], { norm: { name: "n", perImage: [1] } }),
      /image 0: prediction has 3 points, GT has 4/,
    ],
    [
      "non-finite prediction",
      () => evaluateShapes([handPred().fill(NaN, 10, 11)], [handGt()], { norm: "bbox", labels: ["a.pts"] }),
      /a\.pts: predicted point 5 is not finite/,
    ],
    [
      "degenerate supplied normaliser",
      () => evaluateShapes([new Float32Array(2)], [new Float32Array(2)], { norm: { name: "io", perImage: [0] } }),
      /image 0: degenerate io normaliser \(0\)/,
    ],
    [
      "normaliser count",
      () => evaluateShapes([new Float32Array(2)], [new Float32Array(2)], { norm: { name: "io", perImage: [1, 2] } }),
      /2 normalisers for 1 images/,
    ],
    ["empty", () => evaluateShapes([], [], { norm: "bbox" }), /no images/],
    [
      "ragged flat batch",
      () => evaluateShapes(new Float32Array(100), new Float32Array(100), { norm: "bbox" }),
      /not a whole number of 68-point shapes/,
    ],
  ])("rejects %s", (_, call, message) => {
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
  });
});
