/**
 * Landmark curves on the SFM head, through the model's iBUG68 vertices (ibug_to_sfm.txt): curves are
 * Catmull-Rom splines through those vertices in frontal (x, y), solved onto the surface between them (the
 * vertices themselves are kept exactly), each side through its own vertices (the SFM mean is not exactly
 * symmetric; the head makes its mean symmetric, so each side's vertices mirror the other's). Inner lips lie
 * on the grid's seam rows (the mouth slit's edges); the inner mouth corners, which the mapping leaves out,
 * sit just inside the slit's ends (which are the outer corners 48 and 54). The jaw is the face contour of
 * sfm_model_contours.json (temple to chin on each side), cut at the height of the outer eye corners where
 * 300-W's points 0 and 16 sit; the rendered jaw points come from marching on it (contour.ts).
 */
import { SEAM, anglesOf, vertexNormals, type HeadModel } from "./mesh";
import { polyFromXY, surfaceAt, type Curve, type CurveKind, type CurveSet } from "./curves";
import { marchingLines } from "./contour";

type Poly = { theta: Float64Array; phi: Float64Array };

export function buildSfmCurves(m: HeadModel): CurveSet {
  const L = m.sfm!;
  const N = vertexNormals(m, m.base, new Float32Array(m.base.length));
  const P = (v: number) => ({ x: L.mean[3 * v], y: L.mean[3 * v + 1], z: L.mean[3 * v + 2] });
  const I = (i: number) => P(L.ibug[i]);
  const angOf = (p: { x: number; y: number; z: number }) => anglesOf(p.x, p.y, p.z);
  const curves: Curve[] = [];
  const add = (name: string, group: string, kind: CurveKind, p: Poly, closedEnds: [boolean, boolean] = [true, true], twin?: Poly) =>
    curves.push({ name, group, kind, theta: p.theta, phi: p.phi, closedEnds, twin });

  /** A spline through points (frontal x, y; exact angles at the points), `per` samples between neighbours. */
  const through = (pts: { x: number; y: number; z: number }[], per = 10): Poly => {
    const th: number[] = [], ph: number[] = [];
    const n = pts.length;
    for (let s = 0; s < n; s++) {
      const a = angOf(pts[s]);
      th.push(a.theta); ph.push(a.phi);
      if (s === n - 1) break;
      const p0 = pts[Math.max(0, s - 1)], p1 = pts[s], p2 = pts[s + 1], p3 = pts[Math.min(n - 1, s + 2)];
      const xs: number[] = [], ys: number[] = [];
      for (let k = 1; k <= per; k++) {
        const t = k / (per + 1), t2 = t * t, t3 = t2 * t;
        const cr = (a0: number, a1: number, a2: number, a3: number) =>
          0.5 * (2 * a1 + (-a0 + a2) * t + (2 * a0 - 5 * a1 + 4 * a2 - a3) * t2 + (-a0 + 3 * a1 - 3 * a2 + a3) * t3);
        xs.push(cr(p0.x, p1.x, p2.x, p3.x)); ys.push(cr(p0.y, p1.y, p2.y, p3.y));
      }
      const mid = polyFromXY(m, N, xs, ys);
      th.push(...mid.theta); ph.push(...mid.phi);
    }
    return { theta: Float64Array.from(th), phi: Float64Array.from(ph) };
  };
  const ellipse = (cx: number, cy: number, rx: number, ry: number, a0: number, a1: number, n: number, mirror: boolean): Poly => {
    const xs: number[] = [], ys: number[] = [];
    for (let k = 0; k < n; k++) {
      const a = a0 + ((a1 - a0) * k) / (n - 1);
      xs.push(cx + (mirror ? -1 : 1) * rx * Math.cos(a)); ys.push(cy + ry * Math.sin(a));
    }
    return polyFromXY(m, N, xs, ys);
  };
  const seam = (ids: number[], phi: number): Poly => {
    // slit corners (φ = 0: between the seam rows) and the inner-lip vertices on the seam row
    const [cl, cr] = innerCorners(L);
    const anchors = [cl, ...ids.map((i) => angOf(I(i)).theta), cr];
    const th: number[] = [], ph: number[] = [];
    for (let s = 0; s < anchors.length; s++) {
      th.push(anchors[s]); ph.push(s === 0 || s === anchors.length - 1 ? 0 : phi);
      if (s === anchors.length - 1) break;
      for (let k = 1; k <= 8; k++) { th.push(anchors[s] + ((anchors[s + 1] - anchors[s]) * k) / 9); ph.push(phi); }
    }
    return { theta: Float64Array.from(th), phi: Float64Array.from(ph) };
  };
  const down = (p: Poly, thick: (f: number) => number): Poly => {
    const xs: number[] = [], ys: number[] = [];
    for (let k = 0; k < p.theta.length; k++) {
      const s = surfaceAt(m, N, p.theta[k], p.phi[k]);
      xs.push(s.x); ys.push(s.y - thick(k / (p.theta.length - 1)));
    }
    return polyFromXY(m, N, xs, ys);
  };

  // The jaw contour, image-left (subject's right) top → chin → image-right top, cut at the eye corners' height.
  const chain = [...Array.from(L.contourRight), L.ibug[8], ...Array.from(L.contourLeft).reverse()].map(P);
  const yTop = (I(36).y + I(45).y) / 2;
  const cut: { x: number; y: number; z: number }[] = [];
  for (let k = 0; k < chain.length; k++) {
    const p = chain[k];
    const prev = chain[k - 1], next = chain[k + 1];
    if (p.y <= yTop) {
      if (prev && prev.y > yTop) { const f = (prev.y - yTop) / (prev.y - p.y); cut.push({ x: prev.x + f * (p.x - prev.x), y: yTop, z: prev.z + f * (p.z - prev.z) }); }
      cut.push(p);
      if (next && next.y > yTop) { const f = (p.y - yTop) / (p.y - next.y); cut.push({ x: p.x + f * (next.x - p.x), y: yTop, z: p.z + f * (next.z - p.z) }); }
    }
  }
  const jawAng = cut.map(angOf);
  const jaw = { theta: Float64Array.from(jawAng.map((a) => a.theta)), phi: Float64Array.from(jawAng.map((a) => a.phi)) };
  add("jaw", "jaw", "symmetric", jaw);
  const full = chain.map(angOf);
  const faceOutline = { theta: Float64Array.from(full.map((a) => a.theta)), phi: Float64Array.from(full.map((a) => a.phi)) };

  // Brows (the iBUG points follow the upper edge), outer → inner on both sides.
  const thick = (f: number) => 0.05 + 0.07 * f;
  const bu = through([17, 18, 19, 20, 21].map(I)), buL = through([26, 25, 24, 23, 22].map(I));
  add("brow-upper", "brows", "pair", bu, [true, true], buL);
  add("brow-lower", "brows", "pair", down(bu, thick), [true, true], down(buL, thick));
  add("nose-bridge", "nose", "midline", through([27, 28, 29, 30].map(I)));
  // Ala outline (an arc over the outside of each wing) and nostril rims (small ellipses above the nose base).
  const wing = (p31: { x: number; y: number }, mirror: boolean) => ellipse(p31.x + (mirror ? 0.015 : -0.015), p31.y + 0.075, 0.09, 0.09, Math.PI * 0.45, Math.PI * 1.55, 48, mirror);
  add("nose-wing", "nose", "pair", wing(I(31), false), [true, true], wing(I(35), true));
  add("nose-base", "nose", "symmetric", through([31, 32, 33, 34, 35].map(I)));
  const nostril = (a: { x: number; y: number }, b: { x: number; y: number }, mirror: boolean) =>
    ellipse((a.x + b.x) / 2 + (mirror ? -0.004 : 0.004), (a.y + b.y) / 2 + 0.022, 0.04, 0.02, 0, 2 * Math.PI, 49, mirror);
  add("nostril", "nose", "pair", nostril(I(31), I(32), false), [true, false], nostril(I(35), I(34), true));
  // Eyelids, outer → inner; the lower lid without its corners.
  add("eye-upper", "eyes", "pair", through([36, 37, 38, 39].map(I)), [true, true], through([45, 44, 43, 42].map(I)));
  add("eye-lower", "eyes", "pair", through([36, 41, 40, 39].map(I)), [false, false], through([45, 46, 47, 42].map(I)));
  const centre = (ids: number[]) => {
    const c = ids.map(I).reduce((s, p) => ({ x: s.x + p.x / ids.length, y: s.y + p.y / ids.length }), { x: 0, y: 0 });
    return polyFromXY(m, N, [c.x], [c.y]);
  };
  add("pupil", "pupils", "pair", centre([36, 37, 38, 39, 40, 41]), [true, true], centre([42, 43, 44, 45, 46, 47]));
  // Lips, image left → right.
  add("lip-outer-upper", "outer-lips", "symmetric", through([48, 49, 50, 51, 52, 53, 54].map(I)));
  add("lip-outer-lower", "outer-lips", "symmetric", through([48, 59, 58, 57, 56, 55, 54].map(I)), [false, false]);
  add("lip-inner-upper", "inner-lips", "symmetric", seam([61, 62, 63], SEAM));
  add("lip-inner-lower", "inner-lips", "symmetric", seam([67, 66, 65], -SEAM), [false, false]);

  const marching = marchingLines(m, N, jaw, cut.map((p) => p.x), cut.map((p) => p.y), { x: 0, y: I(33).y });
  return { curves, jaw: faceOutline, normals: N, marching };
}

/**
 * Ray azimuths of the inner mouth corners (iBUG 60 and 64, which the SFM mapping leaves out): a little
 * inside the slit's ends, where the lips' inner edges meet (its ends are the outer corners 48 and 54).
 */
export function innerCorners(L: NonNullable<HeadModel["sfm"]>): [number, number] {
  const t = (v: number) => anglesOf(L.mean[3 * v], L.mean[3 * v + 1], L.mean[3 * v + 2]).theta;
  return [0.92 * t(L.slitUpper[0]), 0.92 * t(L.slitUpper[L.slitUpper.length - 1])];
}
