/**
 * Landmark curves on the mean neutral head, as polylines of ray angles (θ, φ). A point with angles (θ, φ)
 * is bound to its grid cell with bilinear weights, so it rides along every blendshape. Curves are drawn
 * where a person sees the feature on a frontal face: in face coordinates (x, y) solved onto the front
 * surface, except the jaw (the near-silhouette contour n·z = JAW_NZ of the base head) and the inner lips
 * (the two rows bracketing the lip seam, which separate when the jaw opens).
 */
import { precomputed } from "./precomputed";
import { EYE, MOUTH, MOUTH_Y, SEAM, anglesOf, bindAngles, headModel, lidHeights, vertexNormals, type HeadModel } from "./mesh";
import type { FaceModelKind } from "./face-model";
import { buildSfmCurves } from "./sfm-curves";
import { marchingLines, type Marching } from "./contour";

export type CurveKind = "pair" | "symmetric" | "midline" | "point";
export interface Curve {
  name: string;
  group: string;
  /** pair: this is the subject's right curve and `twin` (x-mirrored, same order) is the left one. */
  kind: CurveKind;
  /** Polyline in ray angles, ordered from the image's left to right (pairs: in the right curve's order). */
  theta: Float64Array;
  phi: Float64Array;
  /** First/last polyline point included when the curve is sampled densely (shared corners are not). */
  closedEnds: [boolean, boolean];
  /** pair: the subject's left curve when it is not the mirror image (SFM faces are not exactly symmetric). */
  twin?: { theta: Float64Array; phi: Float64Array };
}

/** Normal·z of the jaw contour: just inside the frontal silhouette, where annotators put the face oval. */
export const JAW_NZ = 0.25;
/** The jaw's upper ends sit a little below the eye corners, as iBug68 points 0 and 16 do. */
export const JAW_TOP_Y = -0.02;

/** Base-surface position and normal at (θ, φ) by bilinear interpolation on the grid. */
export function surfaceAt(m: HeadModel, normals: Float32Array, theta: number, phi: number) {
  const { v, w } = bindAngles(m, theta, phi);
  const p = [0, 0, 0], n = [0, 0, 0];
  for (let k = 0; k < 4; k++)
    for (let c = 0; c < 3; c++) {
      p[c] += w[k] * m.base[3 * v[k] + c];
      n[c] += w[k] * normals[3 * v[k] + c];
    }
  return { x: p[0], y: p[1], z: p[2], nx: n[0], ny: n[1], nz: n[2] };
}

/** Angles of the front-surface point whose (x, y) is given (Newton on the grid interpolation). */
export function solveFront(m: HeadModel, N: Float32Array, x: number, y: number, zGuess = 1.1): { theta: number; phi: number } {
  let { theta, phi } = anglesOf(x, y, zGuess);
  const h = 1e-4;
  for (let it = 0; it < 30; it++) {
    const s = surfaceAt(m, N, theta, phi);
    const ex = s.x - x, ey = s.y - y;
    if (Math.abs(ex) + Math.abs(ey) < 1e-6) break;
    const st = surfaceAt(m, N, theta + h, phi), sp = surfaceAt(m, N, theta, phi + h);
    const a = (st.x - s.x) / h, b = (sp.x - s.x) / h, c = (st.y - s.y) / h, d = (sp.y - s.y) / h;
    const det = a * d - b * c;
    if (Math.abs(det) < 1e-9) break;
    let dt = (d * ex - b * ey) / det, dp = (-c * ex + a * ey) / det;
    const lim = 0.05;
    const mag = Math.max(Math.abs(dt), Math.abs(dp));
    if (mag > lim) { dt *= lim / mag; dp *= lim / mag; }
    theta -= dt; phi -= dp;
  }
  return { theta, phi };
}

export function polyFromXY(m: HeadModel, N: Float32Array, xs: number[], ys: number[]) {
  const th = new Float64Array(xs.length), ph = new Float64Array(xs.length);
  let guess = 1.1;
  for (let k = 0; k < xs.length; k++) {
    const a = solveFront(m, N, xs[k], ys[k], guess);
    th[k] = a.theta; ph[k] = a.phi;
  }
  void guess;
  return { theta: th, phi: ph };
}

const lin = (a: number, b: number, n: number) => Array.from({ length: n }, (_, k) => a + ((b - a) * k) / (n - 1));

/** The jaw: walk out from the face centre in (θ, φ) until the base normal turns away past JAW_NZ. */
function traceJaw(m: HeadModel, N: Float32Array): { theta: Float64Array; phi: Float64Array } {
  // Start outside the nose and lips (their sides also turn away from the viewer).
  const c0 = anglesOf(0, -0.55, 1.4);
  const ts: number[] = [], ps: number[] = [], ys: number[] = [];
  for (let k = 0; k <= 400; k++) {
    const alpha = Math.PI * (0.8 + (1.4 * k) / 400); // from a little above "right" through "down" to "left"
    const ca = Math.cos(alpha), sa = Math.sin(alpha);
    let s = 0.5;
    let prev = surfaceAt(m, N, c0.theta + ca * s, c0.phi + sa * s);
    while (s < 2.5) {
      const ns = s + 0.004;
      const cur = surfaceAt(m, N, c0.theta + ca * ns, c0.phi + sa * ns);
      // stop where the surface turns away from the viewer, or turns under the jaw (towards the neck)
      if (cur.nz < JAW_NZ || (cur.ny < -0.5 && cur.nz < 0.8 && cur.y < -1.3)) {
        const f = cur.nz < JAW_NZ ? (prev.nz - JAW_NZ) / (prev.nz - cur.nz) : 0.5;
        const sf = s + 0.004 * f;
        ts.push(c0.theta + ca * sf); ps.push(c0.phi + sa * sf);
        ys.push(prev.y + (cur.y - prev.y) * f);
        break;
      }
      prev = cur; s = ns;
    }
  }
  // keep the part below JAW_TOP_Y, cut exactly at it (linear in the polyline)
  const th: number[] = [], ph: number[] = [];
  for (let k = 0; k < ts.length; k++) {
    if (ys[k] > JAW_TOP_Y) {
      if (k > 0 && ys[k - 1] <= JAW_TOP_Y) {
        const f = (JAW_TOP_Y - ys[k - 1]) / (ys[k] - ys[k - 1]);
        th.push(ts[k - 1] + f * (ts[k] - ts[k - 1])); ph.push(ps[k - 1] + f * (ps[k] - ps[k - 1]));
      }
      continue;
    }
    if (k > 0 && ys[k - 1] > JAW_TOP_Y && th.length === 0) {
      const f = (JAW_TOP_Y - ys[k - 1]) / (ys[k] - ys[k - 1]);
      th.push(ts[k - 1] + f * (ts[k] - ts[k - 1])); ph.push(ps[k - 1] + f * (ps[k] - ps[k - 1]));
    }
    th.push(ts[k]); ph.push(ps[k]);
  }
  // alpha runs from the subject's right (image left, θ < 0) to the left: already image-left → right
  return { theta: Float64Array.from(th), phi: Float64Array.from(ph) };
}

export interface CurveSet {
  curves: Curve[];
  /** Jaw polygon in angles (for the face-area mask). */
  jaw: { theta: Float64Array; phi: Float64Array };
  normals: Float32Array;
  /** Where 300-W's jaw points go at any pose: the face contour and the lines the visible outline is found on. */
  marching: Marching;
}

const cached = new Map<FaceModelKind, CurveSet>();

/** Brow centre line and thickness at |x| (subject's right brow uses x < 0). */
export function brow(ax: number): { y: number; th: number } | null {
  const s = (ax - 0.16) / 0.56;
  if (s < 0 || s > 1) return null;
  return { y: 0.27 + 0.07 * Math.sin(Math.PI * Math.pow(s, 0.8)), th: 0.085 - 0.05 * s };
}

export function lipOuter(x: number): { up: number; down: number } {
  const q = 1 - (x / MOUTH.halfWidth) ** 2;
  if (q <= 0) return { up: 0, down: 0 };
  return {
    up: MOUTH.upper * Math.pow(q, 0.55) - 0.022 * Math.exp(-((x / 0.07) ** 2)),
    down: MOUTH.lower * Math.pow(q, 0.8),
  };
}
export const INNER_HALF = MOUTH.halfWidth * 0.93;

/** The landmark curves: traced once per process, or read from the disk cache. */
export function curveSet(kind: FaceModelKind = "procedural"): CurveSet {
  let c = cached.get(kind);
  if (!c) {
    const m = headModel(kind);
    c = kind === "sfm" ? precomputed(`curves-sfm-${m.sfm!.fingerprint}`, () => buildSfmCurves(m)) : precomputed("curves", buildCurves);
    cached.set(kind, c);
  }
  return c;
}

function buildCurves(): CurveSet {
  const m = headModel("procedural");
  const N = vertexNormals(m, m.base, new Float32Array(m.base.length));
  const curves: Curve[] = [];
  const add = (name: string, group: string, kind: CurveKind, p: { theta: Float64Array; phi: Float64Array }, closedEnds: [boolean, boolean] = [true, true]) =>
    curves.push({ name, group, kind, theta: p.theta, phi: p.phi, closedEnds });
  const S = 64;

  const jaw = traceJaw(m, N);
  add("jaw", "jaw", "symmetric", jaw);

  // Brows (right = x < 0), ordered outer → inner for the right brow as iBug numbers them.
  const bx = lin(-0.72, -0.16, S);
  add("brow-upper", "brows", "pair", polyFromXY(m, N, bx, bx.map((x) => brow(-x)!.y + brow(-x)!.th / 2)));
  add("brow-lower", "brows", "pair", polyFromXY(m, N, bx, bx.map((x) => brow(-x)!.y - brow(-x)!.th / 2)));

  // Nose bridge from between the eyes to the tip (the front-most midline point).
  const tip = noseTipY(m, N);
  const ny = lin(0.06, tip, S);
  add("nose-bridge", "nose", "midline", polyFromXY(m, N, ny.map(() => 0), ny));
  // Ala outline (right wing): an arc from its top over the outside to its base.
  const aa = lin(Math.PI * 0.45, Math.PI * 1.55, S);
  add("nose-wing", "nose", "pair", polyFromXY(m, N, aa.map((a) => -0.15 + 0.125 * Math.cos(a)), aa.map((a) => -0.56 + 0.1 * Math.sin(a))));
  // Nose base: from the right alar base through the subnasale to the left.
  const nb = lin(-0.19, 0.19, S);
  add("nose-base", "nose", "symmetric", polyFromXY(m, N, nb, nb.map((x) => -0.7 + 0.08 * (x / 0.19) ** 2)));
  // Nostril rims (right): small ellipses seen from the front.
  const na = lin(0, 2 * Math.PI, S + 1);
  add("nostril", "nose", "pair", polyFromXY(m, N, na.map((a) => -0.085 + 0.045 * Math.cos(a)), na.map((a) => -0.63 + 0.022 * Math.sin(a))), [true, false]);

  // Eyelids: right eye ordered outer → inner (image left → right); the lower lid without its corners.
  const ex = lin(-EYE.x - EYE.halfWidth, -EYE.x + EYE.halfWidth, S);
  const outward = (x: number) => -(x + EYE.x); // right eye: outward = towards −x
  add("eye-upper", "eyes", "pair", polyFromXY(m, N, ex, ex.map((x) => EYE.y + lidHeights(outward(x)).up)));
  add("eye-lower", "eyes", "pair", polyFromXY(m, N, ex, ex.map((x) => EYE.y - lidHeights(outward(x)).down)), [false, false]);
  add("pupil", "pupils", "pair", polyFromXY(m, N, [-EYE.x], [EYE.y]));

  // Lips, image left → right; the outer lower lip and both inner lips leave out the corners.
  const lx = lin(-MOUTH.halfWidth, MOUTH.halfWidth, S);
  add("lip-outer-upper", "outer-lips", "symmetric", polyFromXY(m, N, lx, lx.map((x) => MOUTH_Y + lipOuter(x).up)));
  add("lip-outer-lower", "outer-lips", "symmetric", polyFromXY(m, N, lx, lx.map((x) => MOUTH_Y - lipOuter(x).down)), [false, false]);
  const ix = lin(-INNER_HALF, INNER_HALF, S);
  const seamRow = (phi: number) => {
    const a = polyFromXY(m, N, ix, ix.map(() => MOUTH_Y));
    // corners on the seam itself (both rows meet there), the rest on the row above/below the tear
    for (let k = 1; k < a.phi.length - 1; k++) a.phi[k] = phi;
    a.phi[0] = 0; a.phi[a.phi.length - 1] = 0;
    return a;
  };
  add("lip-inner-upper", "inner-lips", "symmetric", seamRow(SEAM));
  add("lip-inner-lower", "inner-lips", "symmetric", seamRow(-SEAM), [false, false]);

  // Marching lines: from the jaw contour towards the middle of the face (between the nose and the mouth).
  const xy = Array.from(jaw.theta, (t, k) => surfaceAt(m, N, t, jaw.phi[k]));
  const marching = marchingLines(m, N, jaw, xy.map((p) => p.x), xy.map((p) => p.y), { x: 0, y: -0.6 });
  return { curves, jaw, normals: N, marching };
}

function noseTipY(m: HeadModel, N: Float32Array): number {
  let best = -Infinity, by = -0.5;
  for (let y = -0.3; y > -0.75; y -= 0.002) {
    const a = solveFront(m, N, 0, y, 1.4);
    const s = surfaceAt(m, N, a.theta, a.phi);
    if (s.z > best) { best = s.z; by = y; }
  }
  return by;
}
