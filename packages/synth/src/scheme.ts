/**
 * Landmark schemes sampled from the surface curves: getScheme(68) follows iBug68's order and meaning,
 * any other count spreads points evenly (by 3D arc length on the mean face) over every curve. Each point
 * is bound to 4 grid vertices with bilinear weights, so renderSample only has to blend deformed vertices.
 *
 * Template frame (all counts share it): the mean neutral face, frontal, default camera, in units of the
 * rendered crop (0…1 across the image, origin top-left, y down): template·size is where the mean face's
 * points land in a `size`-pixel image. iBug68's template (core) uses detector-box units instead; compare
 * the two after a similarity alignment.
 */
import { IBUG68, IBUG68_NAMES, faceCrop, type LandmarkScheme, UsageError, validateScheme } from "@lml/core";
import { curveSet, surfaceAt, type Curve } from "./curves";
import { anglesOf, bindAngles, headModel, SEAM, type HeadModel } from "./mesh";
import { resolveFaceModel, type FaceModelChoice, type FaceModelKind } from "./face-model";
import { posedPoints, templateCoeffs } from "./pose-points";
import { innerCorners } from "./sfm-curves";

export const DEFAULT_CAMERA = { distance: 8, focal: 1 } as const;

export interface BoundScheme {
  scheme: LandmarkScheme;
  kind: FaceModelKind;
  /** 4 vertex indices and 4 weights per point. */
  verts: Uint32Array;
  weights: Float32Array;
  /** The jaw points in outline order: placed on the visible face outline of each pose (contour.ts). */
  jaw: Int32Array;
}

interface PointDef { theta: number; phi: number; group: string; name: string }

/** The polyline of a curve or of its left twin (the mirror image unless the curve carries its own). */
function side(c: Curve, mirrored: boolean): { theta: ArrayLike<number>; phi: ArrayLike<number>; flip: boolean } {
  if (mirrored && c.twin) return { theta: c.twin.theta, phi: c.twin.phi, flip: false };
  return { theta: c.theta, phi: c.phi, flip: mirrored };
}

function arcTable(m: HeadModel, N: Float32Array, c: Curve, mirrored: boolean): Float64Array {
  const p = side(c, mirrored);
  const n = p.theta.length;
  const L = new Float64Array(n);
  let prev = surfaceAt(m, N, p.flip ? -p.theta[0] : p.theta[0], p.phi[0]);
  for (let k = 1; k < n; k++) {
    const s = surfaceAt(m, N, p.flip ? -p.theta[k] : p.theta[k], p.phi[k]);
    L[k] = L[k - 1] + Math.hypot(s.x - prev.x, s.y - prev.y, s.z - prev.z);
    prev = s;
  }
  return L;
}

/** Angles at arc fraction f ∈ [0, 1] of a curve (mirrored = the subject's left twin, θ → −θ). */
function at(c: Curve, L: Float64Array, f: number, mirrored: boolean): { theta: number; phi: number } {
  const p = side(c, mirrored);
  const n = p.theta.length;
  if (n === 1) return { theta: p.flip ? -p.theta[0] : p.theta[0], phi: p.phi[0] };
  const s = f * L[n - 1];
  let k = 1;
  while (k < n - 1 && L[k] < s) k++;
  const g = L[k] === L[k - 1] ? 0 : Math.min(1, Math.max(0, (s - L[k - 1]) / (L[k] - L[k - 1])));
  const th = p.theta[k - 1] + g * (p.theta[k] - p.theta[k - 1]);
  return { theta: p.flip ? -th : th, phi: p.phi[k - 1] + g * (p.phi[k] - p.phi[k - 1]) };
}

/** Arc fractions of `count` evenly spaced points given which ends belong to the curve. */
function fractions(count: number, ends: [boolean, boolean], loop: boolean): number[] {
  if (count <= 0) return [];
  if (loop) return Array.from({ length: count }, (_, k) => k / count);
  const [a, b] = ends;
  const gaps = count - 1 + (a ? 0 : 1) + (b ? 0 : 1);
  if (gaps === 0) return [0.5];
  return Array.from({ length: count }, (_, k) => (k + (a ? 0 : 1)) / gaps);
}

/** SFM: the mapped vertices themselves; inner lips on the seam rows, inner corners at the slit's ends. */
function build68Sfm(): { defs: PointDef[]; mirror: Int32Array } {
  const m = headModel("sfm"), L = m.sfm!;
  const { curves, normals: N } = curveSet("sfm");
  const jaw = curves.find((c) => c.name === "jaw")!;
  const jawL = arcTable(m, N, jaw, false);
  const ang = (v: number) => anglesOf(L.mean[3 * v], L.mean[3 * v + 1], L.mean[3 * v + 2]);
  const defs: PointDef[] = [];
  for (let i = 0; i < 68; i++) {
    let a: { theta: number; phi: number };
    if (i <= 16) a = at(jaw, jawL, i / 16, false); // placeholder: replaced by the outline of each pose
    else if (i === 60) a = { theta: innerCorners(L)[0], phi: 0 };
    else if (i === 64) a = { theta: innerCorners(L)[1], phi: 0 };
    else if (i >= 61 && i <= 63) a = { theta: ang(L.ibug[i]).theta, phi: SEAM };
    else if (i >= 65) a = { theta: ang(L.ibug[i]).theta, phi: -SEAM };
    else a = ang(L.ibug[i]);
    defs.push({ ...a, group: IBUG68.groups[i], name: IBUG68_NAMES[i] });
  }
  return { defs, mirror: Int32Array.from(IBUG68.mirror) };
}

function build68(kind: FaceModelKind): { defs: PointDef[]; mirror: Int32Array } {
  if (kind === "sfm") return build68Sfm();
  const m = headModel(kind);
  const { curves, normals: N } = curveSet(kind);
  const C = (name: string) => curves.find((c) => c.name === name)!;
  const defs: PointDef[] = [];
  const push = (c: Curve, f: number, mir: boolean) => {
    const a = at(c, arcTable(m, N, c, mir), f, mir);
    defs.push({ ...a, group: IBUG68.groups[defs.length], name: IBUG68_NAMES[defs.length] });
  };
  for (let k = 0; k < 17; k++) push(C("jaw"), k / 16, false);
  for (let k = 0; k < 5; k++) push(C("brow-upper"), k / 4, false); // right: outer → inner
  for (let k = 4; k >= 0; k--) push(C("brow-upper"), k / 4, true); // left: inner → outer
  for (let k = 0; k < 4; k++) push(C("nose-bridge"), k / 3, false);
  for (let k = 0; k < 5; k++) push(C("nose-base"), k / 4, false);
  const up = C("eye-upper"), lo = C("eye-lower");
  // right eye: outer corner, upper lid at thirds, inner corner, lower lid back towards the outer corner
  push(up, 0, false); push(up, 1 / 3, false); push(up, 2 / 3, false); push(up, 1, false); push(lo, 2 / 3, false); push(lo, 1 / 3, false);
  // left eye (the twin curves run outer → inner too): inner corner first
  push(up, 1, true); push(up, 2 / 3, true); push(up, 1 / 3, true); push(up, 0, true); push(lo, 1 / 3, true); push(lo, 2 / 3, true);
  const ou = C("lip-outer-upper"), ol = C("lip-outer-lower");
  // Arc fractions matched to where iBug68's mean shape puts the lip points (they crowd towards the centre).
  for (const f of [0, 0.22, 0.4, 0.5, 0.6, 0.78, 1]) push(ou, f, false);
  for (const f of [0.78, 0.62, 0.5, 0.38, 0.22]) push(ol, f, false);
  const iu = C("lip-inner-upper"), il = C("lip-inner-lower");
  for (const f of [0, 1 / 3, 0.5, 2 / 3, 1]) push(iu, f, false);
  for (const f of [2 / 3, 0.5, 1 / 3]) push(il, f, false);
  return { defs, mirror: Int32Array.from(IBUG68.mirror) };
}

/** Relative density per curve: the jaw is long but carries little local detail. */
const DENSITY: Record<string, number> = { jaw: 0.55 };

function buildDense(count: number, kind: FaceModelKind): { defs: PointDef[]; mirror: Int32Array } {
  const m = headModel(kind);
  const { curves, normals: N } = curveSet(kind);
  const pupils = curves.filter((c) => c.kind === "point" || c.name === "pupil");
  const lines = curves.filter((c) => !pupils.includes(c));
  const fixed = 2 * pupils.length;
  if (count < fixed + 3 * lines.length) throw new UsageError(`scheme: ${count} points is too few (minimum ${fixed + 3 * lines.length})`);
  const lens = lines.map((c) => arcTable(m, N, c, false)[c.theta.length - 1] * (DENSITY[c.name] ?? 1));
  const mult = lines.map((c) => (c.kind === "pair" ? 2 : 1));
  const total = lens.reduce((s, l, i) => s + l * mult[i], 0);
  const budget = count - fixed;
  const per = lines.map((c, i) => Math.max(c.kind === "pair" ? 2 : 3, Math.round((budget * lens[i]) / total)));
  const jaw = lines.findIndex((c) => c.name === "jaw");
  const used = per.reduce((s, n, i) => s + n * mult[i], 0) - per[jaw];
  per[jaw] = budget - used; // the jaw takes any count, so it absorbs rounding
  if (per[jaw] < 3) throw new UsageError(`scheme: ${count} points is too few`);
  const defs: PointDef[] = [];
  const mirror: number[] = [];
  for (const c of curves) {
    const i = lines.indexOf(c);
    const n = i < 0 ? 1 : per[i];
    const loop = c.name === "nostril";
    const fr = i < 0 ? [0] : fractions(n, c.closedEnds, loop);
    const sides = c.kind === "pair" || i < 0 ? [false, true] : [false];
    const start = defs.length;
    for (const mir of sides) {
      const L = arcTable(m, N, c, mir);
      fr.forEach((f, k) => defs.push({ ...at(c, L, f, mir), group: c.group, name: `${c.name}${sides.length > 1 ? (mir ? "-left" : "-right") : ""}-${k}` }));
    }
    for (let k = 0; k < n; k++) {
      if (sides.length > 1) { mirror[start + k] = start + n + k; mirror[start + n + k] = start + k; }
      else if (c.kind === "midline") mirror[start + k] = start + k;
      else mirror[start + k] = start + n - 1 - k;
    }
  }
  return { defs, mirror: Int32Array.from(mirror) };
}

const schemes = new Map<string, BoundScheme>();

/** The bound scheme (bindings + LandmarkScheme) for `count` points on a face model; 68 is iBug-compatible. */
export function boundScheme(count: number, faceModel: FaceModelChoice | FaceModelKind = "auto"): BoundScheme {
  const kind = resolveFaceModel(faceModel);
  const key = `${kind}:${count}`;
  const hit = schemes.get(key);
  if (hit) return hit;
  if (!Number.isInteger(count) || count < 20 || count > 5000) throw new UsageError(`scheme: expected an integer point count in 20…5000, got ${count}`);
  const m = headModel(kind);
  const { defs, mirror } = count === 68 ? build68(kind) : buildDense(count, kind);
  const verts = new Uint32Array(4 * count), weights = new Float32Array(4 * count);
  defs.forEach((d, k) => {
    const b = bindAngles(m, d.theta, d.phi);
    for (let q = 0; q < 4; q++) { verts[4 * k + q] = b.v[q]; weights[4 * k + q] = b.w[q]; }
  });
  const jaw = Int32Array.from(defs.flatMap((d, k) => (d.group === "jaw" ? [k] : [])));
  const prefix = kind === "sfm" ? "sfm" : "synth";
  const bound: BoundScheme = {
    scheme: { id: count === 68 ? `${prefix}-68` : `${prefix}-${count}`, count, names: defs.map((d) => d.name), groups: defs.map((d) => d.group), mirror, template: new Float32Array(2 * count) },
    kind, verts, weights, jaw,
  };
  schemes.set(key, bound);
  bound.scheme.template = meanTemplate(bound);
  validateScheme(bound.scheme);
  return bound;
}

/** Blends bound vertices: 3 floats per point. */
export function blendPoints(b: BoundScheme, P: Float32Array, out: Float32Array): Float32Array {
  const n = b.scheme.count, V = b.verts, W = b.weights;
  for (let k = 0; k < n; k++) {
    let x = 0, y = 0, z = 0;
    for (let q = 0; q < 4; q++) {
      const v = 3 * V[4 * k + q], w = W[4 * k + q];
      x += w * P[v]; y += w * P[v + 1]; z += w * P[v + 2];
    }
    out[3 * k] = x; out[3 * k + 1] = y; out[3 * k + 2] = z;
  }
  return out;
}

/**
 * The mean face, frontal, default camera, mouth a little open (so the inner lips are apart and each of
 * iBUG's inner-lip points has its own nearest dense point), in units of its framing crop.
 */
function meanTemplate(b: BoundScheme): Float32Array {
  const s68 = b.scheme.count === 68 ? b : boundScheme(68, b.kind);
  const pose = { yaw: 0, pitch: 0, roll: 0 };
  const coeffs = templateCoeffs(b.kind);
  const p68 = posedPoints(s68, coeffs, pose, DEFAULT_CAMERA);
  const p = s68 === b ? p68 : posedPoints(b, coeffs, pose, DEFAULT_CAMERA);
  const crop = faceCrop(interleave(p68.u, p68.v));
  const t = new Float32Array(2 * b.scheme.count);
  for (let k = 0; k < b.scheme.count; k++) {
    t[2 * k] = (p.u[k] - crop.x0) / crop.side;
    t[2 * k + 1] = (p.v[k] - crop.y0) / crop.side;
  }
  return t;
}

export function interleave(u: ArrayLike<number>, v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(2 * u.length);
  for (let k = 0; k < u.length; k++) { out[2 * k] = u[k]; out[2 * k + 1] = v[k]; }
  return out;
}

/** The LandmarkScheme for `count` points (68 = iBug-compatible) on a face model; templates share one frame (see above). */
export function getScheme(count: number, faceModel: FaceModelChoice | FaceModelKind = "auto"): LandmarkScheme {
  return boundScheme(count, faceModel).scheme;
}
