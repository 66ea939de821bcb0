import { beforeAll, describe, expect, it } from "vitest";
import { IBUG68_TEMPLATE, mirrorShape, validateScheme } from "@lml/core";
import { createDataset, getScheme, renderSample, type SampleRequest } from "../src/index";
import { neutralFrontal, renderFace, type FaceParams } from "../src/render";
import { HAS_SFM, MODELS, SFM_NOTE } from "./models";

let model: "sfm" | "procedural" = "procedural";
const req = (o: Partial<SampleRequest> = {}): SampleRequest => ({ domain: "synthetic", split: "train", index: 3, seed: 7, size: 64, channels: 3, scheme: 490, faceModel: model, ...o });

/** Least-squares similarity transform of `a` onto `b` (both 2·N), applied to a. */
function alignSimilarity(a: Float32Array, b: Float32Array): Float64Array {
  const n = a.length / 2;
  let ax = 0, ay = 0, bx = 0, by = 0;
  for (let i = 0; i < n; i++) { ax += a[2 * i]; ay += a[2 * i + 1]; bx += b[2 * i]; by += b[2 * i + 1]; }
  ax /= n; ay /= n; bx /= n; by /= n;
  let sxx = 0, sxy = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const x = a[2 * i] - ax, y = a[2 * i + 1] - ay, u = b[2 * i] - bx, v = b[2 * i + 1] - by;
    sxx += x * u + y * v; sxy += x * v - y * u; norm += x * x + y * y;
  }
  const c = sxx / norm, s = sxy / norm;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x = a[2 * i] - ax, y = a[2 * i + 1] - ay;
    out[2 * i] = c * x - s * y + bx; out[2 * i + 1] = s * x + c * y + by;
  }
  return out;
}

describe("face model choice", () => {
  it("auto resolves to the SFM when its files are there, else to the procedural head; sfm without files is a clear error", async () => {
    const { resolveFaceModel } = await import("../src/face-model");
    expect(resolveFaceModel("auto")).toBe(HAS_SFM ? "sfm" : "procedural");
    expect(resolveFaceModel("procedural")).toBe("procedural");
    const saved = process.env.LML_FACE_MODEL;
    process.env.LML_FACE_MODEL = "/nonexistent/sfm-folder";
    try {
      expect(() => resolveFaceModel("sfm")).toThrow(/nonexistent\/sfm-folder.*LML_FACE_MODEL/);
      expect(resolveFaceModel("auto")).toBe("procedural");
    } finally {
      if (saved === undefined) delete process.env.LML_FACE_MODEL; else process.env.LML_FACE_MODEL = saved;
    }
    expect(() => resolveFaceModel("bfm" as never)).toThrow(/faceModel: expected auto, sfm or procedural/);
  });
});

describe.each(MODELS)("synthetic generator (%s face model)", (m) => {
  beforeAll(() => { model = m; });
  it("is deterministic bit for bit and independent of batch size", () => {
    const a = renderSample(req()), b = renderSample(req());
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(b.image.buffer))).toBe(true);
    expect(Array.from(a.landmarks)).toEqual(Array.from(b.landmarks));
    const p1 = renderSample(req({ domain: "proxy-real", split: "challenging" })), p2 = renderSample(req({ domain: "proxy-real", split: "challenging" }));
    expect(Array.from(p1.image)).toEqual(Array.from(p2.image));
    expect(Array.from(p1.landmarks)).toEqual(Array.from(p2.landmarks));
    const ds = createDataset({ domain: "synthetic", split: "test", count: 6, seed: 5, size: 64, channels: 1, scheme: 68, faceModel: m });
    const by2 = [...ds.batches(2)], by4 = [...ds.batches(4)];
    const cat = (bs: { images: Float32Array }[]) => Array.from(bs.flatMap((x) => Array.from(x.images)));
    expect(cat(by2)).toEqual(cat(by4));
    expect(Array.from(by4[0].landmarks.subarray(0, 136))).toEqual(Array.from(ds.get(0).landmarks));
  }, 120_000);

  it("schemes of any count validate, share one frame and are mirror-symmetric", () => {
    for (const n of [68, 243, 490, 1001, 137]) {
      const s = validateScheme(getScheme(n, m));
      expect(s.count).toBe(n);
      const flipped = mirrorShape(s.template, s, 1);
      let worst = 0;
      for (let i = 0; i < s.template.length; i++) worst = Math.max(worst, Math.abs(flipped[i] - s.template[i]));
      expect(worst).toBeLessThan(0.004);
    }
    // one frame: the dense scheme's pupils lie between the 68 scheme's eye corners
    const t68 = getScheme(68, m).template, s490 = getScheme(490, m);
    const pupil = s490.names!.indexOf("pupil-right-0");
    expect(s490.template[2 * pupil]).toBeGreaterThan(t68[2 * 36]);
    expect(s490.template[2 * pupil]).toBeLessThan(t68[2 * 39]);
  }, 120_000);

  it("flipping a frontal neutral face maps points onto their mirror indices", () => {
    for (const n of [68, 490]) {
      const s = renderSample(req({ size: 128, scheme: n }), neutralFrontal);
      const flipped = mirrorShape(s.landmarks, getScheme(n, m), 128);
      let worst = 0;
      for (let i = 0; i < flipped.length; i++) worst = Math.max(worst, Math.abs(flipped[i] - s.landmarks[i]));
      expect(worst).toBeLessThan(0.5); // pixels at 128²
    }
  }, 120_000);

  it("puts every visible landmark inside the rendered head", () => {
    for (let index = 0; index < 12; index++) {
      const f = renderFace(req({ index, split: index % 2 ? "challenging" : "train" }));
      const T = f.target;
      for (let i = 0; i < f.visible.length; i++) {
        if (!f.visible[i]) continue;
        const x = Math.floor(f.points[2 * i] * f.ss), y = Math.floor(f.points[2 * i + 1] * f.ss);
        let hit = false;
        for (let dy = -1; dy <= 1 && !hit; dy++)
          for (let dx = -1; dx <= 1 && !hit; dx++) {
            const xx = x + dx, yy = y + dy;
            if (xx >= 0 && yy >= 0 && xx < T.w && yy < T.h && T.z[yy * T.w + xx] < Infinity) hit = true;
          }
        expect(hit, `sample ${index} point ${i} at (${x}, ${y})`).toBe(true);
      }
    }
  }, 120_000);

  it("hides the far side of the jaw as yaw grows", () => {
    const far = [10, 11, 12, 13, 14, 15, 16]; // the subject's left jaw: away from the camera when the nose turns to the image's right
    const counts = [0, 30, 60, 85].map((yaw) => {
      const s = renderSample(req({ scheme: 68, size: 128 }), (p: FaceParams) => { neutralFrontal(p); p.pose.yaw = yaw; });
      return far.filter((i) => s.visible[i]).length;
    });
    expect(counts[0]).toBe(far.length);
    for (let k = 1; k < counts.length; k++) expect(counts[k]).toBeLessThanOrEqual(counts[k - 1]);
    expect(counts[3]).toBeLessThanOrEqual(2);
    const near = renderSample(req({ scheme: 68, size: 128 }), (p: FaceParams) => { neutralFrontal(p); p.pose.yaw = 60; });
    expect([1, 2, 3, 4, 5].filter((i) => near.visible[i]).length).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it("places the 68 scheme's eye corners, nose tip and mouth corners where iBug68 has them", () => {
    const t = getScheme(68, m).template;
    const aligned = alignSimilarity(t, IBUG68_TEMPLATE);
    const iod = Math.hypot(IBUG68_TEMPLATE[72] - IBUG68_TEMPLATE[90], IBUG68_TEMPLATE[73] - IBUG68_TEMPLATE[91]);
    // (the mouth corners: 300-W's mean shape averages many smiles, so its corners sit ~0.1 iod higher than a neutral mouth's)
    for (const i of [36, 39, 42, 45, 30, 48, 54]) {
      const d = Math.hypot(aligned[2 * i] - IBUG68_TEMPLATE[2 * i], aligned[2 * i + 1] - IBUG68_TEMPLATE[2 * i + 1]) / iod;
      expect(d, `point ${i}`).toBeLessThan(i >= 48 ? 0.12 : 0.1);
    }
    // and the whole shape is close (NME against the mean shape, inter-ocular): the scanned SFM mean much closer
    let sum = 0;
    for (let i = 0; i < 68; i++) sum += Math.hypot(aligned[2 * i] - IBUG68_TEMPLATE[2 * i], aligned[2 * i + 1] - IBUG68_TEMPLATE[2 * i + 1]);
    expect(sum / 68 / iod).toBeLessThan(m === "sfm" ? 0.055 : 0.1);
  }, 120_000);

  it("puts iBUG's inner-lip points on distinct dense points (the template's mouth is open)", async () => {
    const { nearestSubset } = await import("@lml/core");
    for (const n of [243, 490, 1001]) {
      const sub = nearestSubset(getScheme(n, m), getScheme(68, m));
      expect(new Set(Array.from(sub)).size, `${n}: every iBUG point has its own dense point`).toBe(68);
      expect(sub[61]).not.toBe(sub[67]);
      expect(sub[63]).not.toBe(sub[65]);
    }
  }, 120_000);

  it("proxy-real returns 68 annotator-style points in a different image style", () => {
    const p = renderSample(req({ domain: "proxy-real", scheme: 490 }));
    expect(p.landmarks.length).toBe(136);
    expect(Array.from(p.landmarks68)).toEqual(Array.from(p.landmarks));
    for (const v of p.landmarks) expect(Number.isFinite(v)).toBe(true);
    for (const v of p.image) expect(v >= 0 && v <= 1).toBe(true);
  }, 120_000);
});

describe("the Surrey Face Model" + SFM_NOTE, () => {
  it.skipIf(!HAS_SFM)("parses to the documented sizes, an orthonormal basis and 6 named blendshapes", async () => {
    const { sfm } = await import("../src/face-model");
    const s = sfm();
    expect(s.nv).toBe(3448);
    expect(s.eigenvalues.length).toBe(63);
    expect(s.triangles.length).toBe(3 * 6736);
    expect(s.eigenvalues[0]).toBeGreaterThan(s.eigenvalues[1]);
    expect(s.blendshapeNames).toEqual(["anger", "disgust", "fear", "happiness", "sadness", "surprise"]);
    const n3 = 3 * s.nv;
    const dot = (a: number, b: number) => { let t = 0; for (let k = 0; k < n3; k++) t += s.basis[a * n3 + k] * s.basis[b * n3 + k]; return t; };
    expect(dot(0, 0)).toBeCloseTo(1, 4);
    expect(dot(5, 5)).toBeCloseTo(1, 4);
    expect(Math.abs(dot(0, 5))).toBeLessThan(1e-4);
    // iBUG mapping: the chin (point 9 in the file's 1-based numbering) and the nose tip (31), no jaw contour points
    expect(s.ibug[8]).toBe(33);
    expect(s.ibug[30]).toBe(114);
    expect(s.ibug[0]).toBe(-1);
    expect(s.contours.right.length).toBe(17);
  });

  it.skipIf(!HAS_SFM)("names the file and what is wrong in a damaged model folder", async () => {
    const { mkdtempSync, copyFileSync, writeFileSync, readFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { loadSfm, SFM_FILES } = await import("../src/sfm");
    const { faceModelDir } = await import("../src/face-model");
    const src = faceModelDir().dir;
    const dir = mkdtempSync(join(tmpdir(), "lml-sfm-"));
    try {
      for (const f of Object.values(SFM_FILES)) copyFileSync(join(src, f), join(dir, f));
      const shape = readFileSync(join(dir, SFM_FILES.shape));
      writeFileSync(join(dir, SFM_FILES.shape), shape.subarray(0, 50_000));
      expect(() => loadSfm(dir)).toThrow(/sfm_shape_3448\.bin: ends inside orthonormal_pca_basis/);
      writeFileSync(join(dir, SFM_FILES.shape), shape);
      writeFileSync(join(dir, SFM_FILES.ibug), "[landmark_mappings]\n9 = 999999\n");
      expect(() => loadSfm(dir)).toThrow(/ibug_to_sfm\.txt: landmark 9 maps to vertex 999999/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HAS_SFM)("gives different faces for different seeds, drawn from the model's eigenvalues", () => {
    const a = renderSample({ domain: "synthetic", split: "train", index: 1, seed: 3, size: 64, channels: 1, scheme: 68, faceModel: "sfm" });
    const b = renderSample({ domain: "synthetic", split: "train", index: 2, seed: 3, size: 64, channels: 1, scheme: 68, faceModel: "sfm" });
    let d = 0;
    for (let i = 0; i < 136; i++) d += Math.abs(a.landmarks[i] - b.landmarks[i]);
    expect(d / 136).toBeGreaterThan(0.3);
  });
});
