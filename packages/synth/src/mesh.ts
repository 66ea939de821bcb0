/**
 * The parametric head. The base surface is the outer boundary of a smooth union of primitives (cranium,
 * face, jaw angles, chin, cheekbones, brow ridge, nose, alae, lips, eyeballs in their sockets, ears, neck),
 * sampled on a grid of rays cast from a point behind the mouth. Putting that point at mouth height makes
 * the lip seam exactly one grid row (φ = 0), so a pair of rows bracketing it can tear open when the jaw
 * drops. Identity and expression are linear blendshapes (sparse per-vertex displacements computed once):
 * bone-like traits by re-casting the rays with a changed primitive set, region-moving traits (eyes,
 * mouth, lids, brows) by analytic tangential displacement fields. Units: 1 = 7.5 cm (half a head width);
 * x = the subject's left (image right when frontal), y up, z out of the face.
 */

import { precomputed } from "./precomputed";
import type { FaceModelKind } from "./face-model";
// (a cycle: sfm-head.ts builds on this module's grid and primitives; both only call each other at run time)
import { buildSfmHead, deformSfm, type SfmLink } from "./sfm-head";

export const RAY_CENTER = { x: 0, y: -0.97, z: -0.15 } as const;
/** Half angle (radians) of the lip seam: rows at ±SEAM bracket the closed mouth. */
export const SEAM = 0.0025;
export const MOUTH_Y = RAY_CENTER.y;

export const EYE = { x: 0.4, y: 0.0, halfWidth: 0.2, up: 0.07, down: 0.05, iris: 0.08, pupil: 0.032 } as const;
export const MOUTH = { halfWidth: 0.37, upper: 0.1, lower: 0.15, slit: 0.6 } as const;

/** Identity traits shaped by the primitives (re-cast rays) and by analytic fields, then expressions. */
export const SDF_TRAITS = [
  "faceWidth", "faceLength", "jawWidth", "chin", "cheekbones", "noseLength", "noseWidth", "noseBridge", "browRidge",
] as const;
export const FIELD_TRAITS = ["eyeSize", "eyeSpacing", "lipThickness", "mouthWidth"] as const;
export const EXPRESSIONS = ["jawOpen", "smile", "pucker", "blinkRight", "blinkLeft", "browRaise", "browFrown"] as const;
export const BASIS_NAMES = [...SDF_TRAITS, ...FIELD_TRAITS, ...EXPRESSIONS] as const;
export type BasisName = (typeof BASIS_NAMES)[number];

export interface Basis {
  name: BasisName;
  /** Vertex indices this basis moves and their displacement (3 floats each) at coefficient 1. */
  idx: Uint32Array;
  d: Float32Array;
}

export interface HeadModel {
  rows: number;
  cols: number;
  /** Ray angles per row (elevation φ, top to bottom) and per column (azimuth θ, −π…π, not repeated). */
  phi: Float64Array;
  theta: Float64Array;
  /** Mean neutral positions, 3 per vertex, vertex = row·cols + col. */
  base: Float32Array;
  bases: Basis[];
  /** Which face model shaped it; "sfm" heads take SFM coefficients (see sfm-head.ts) instead of `bases`. */
  kind: FaceModelKind;
  sfm?: SfmLink;
}

// ---------------------------------------------------------------------------------------------- SDF

type Vec = [number, number, number];
interface Prim {
  kind: "ell" | "cone" | "capsuleY";
  c: Vec;
  r: Vec;
  /** Cone: second end and radii. */
  b?: Vec;
  ra?: number;
  rb?: number;
  /** Combination: smooth union (k) or smooth subtraction. */
  op: "union" | "sub";
  k: number;
}

function ellipsoid(px: number, py: number, pz: number, c: Vec, r: Vec): number {
  const x = (px - c[0]) / r[0], y = (py - c[1]) / r[1], z = (pz - c[2]) / r[2];
  const k0 = Math.sqrt(x * x + y * y + z * z);
  const k1 = Math.sqrt((x * x) / (r[0] * r[0]) + (y * y) / (r[1] * r[1]) + (z * z) / (r[2] * r[2]));
  return k1 === 0 ? -Math.min(r[0], r[1], r[2]) : (k0 * (k0 - 1)) / k1;
}

function roundCone(px: number, py: number, pz: number, a: Vec, b: Vec, ra: number, rb: number): number {
  const bax = b[0] - a[0], bay = b[1] - a[1], baz = b[2] - a[2];
  const pax = px - a[0], pay = py - a[1], paz = pz - a[2];
  const l2 = bax * bax + bay * bay + baz * baz;
  const h = Math.min(1, Math.max(0, (pax * bax + pay * bay + paz * baz) / l2));
  const dx = pax - bax * h, dy = pay - bay * h, dz = paz - baz * h;
  return Math.sqrt(dx * dx + dy * dy + dz * dz) - (ra + (rb - ra) * h);
}

function smin(a: number, b: number, k: number): number {
  const h = Math.max(k - Math.abs(a - b), 0) / k;
  return Math.min(a, b) - (h * h * k) / 4;
}
function smaxSub(d: number, cut: number, k: number): number {
  // smooth max(d, −cut): carves `cut` out of d
  return -smin(-d, cut, k);
}

type Traits = Record<(typeof SDF_TRAITS)[number], number>;
const ZERO_TRAITS: Traits = Object.fromEntries(SDF_TRAITS.map((t) => [t, 0])) as Traits;

export function primitives(t: Traits = ZERO_TRAITS, neck = { r: 0.52, z: -0.3 }): Prim[] {
  const P: Prim[] = [];
  const ell = (c: Vec, r: Vec, k = 0.14, op: "union" | "sub" = "union") => P.push({ kind: "ell", c, r, op, k });
  const both = (f: (s: number) => void) => { f(-1); f(1); };
  const fw = t.faceWidth, fl = t.faceLength;
  ell([0, 0.35, -0.2], [1.0 + 0.04 * fw, 1.2, 1.25]);
  ell([0, -0.46 - 0.04 * fl, 0.2], [0.87 + 0.07 * fw, 1.06 + 0.08 * fl, 0.95]);
  both((s) => ell([s * (0.56 + 0.04 * fw + 0.07 * t.jawWidth), -1.0 - 0.05 * fl, 0.0], [0.3 + 0.03 * t.jawWidth, 0.36, 0.55]));
  ell([0, -1.32 - 0.08 * fl - 0.02 * t.chin, 0.83 + 0.06 * t.chin], [0.3 + 0.02 * t.chin, 0.22 + 0.03 * t.chin, 0.28], 0.12);
  both((s) => ell([s * (0.55 + 0.04 * fw), -0.2, 0.7 + 0.03 * t.cheekbones], [0.32 + 0.04 * t.cheekbones, 0.2, 0.35 + 0.03 * t.cheekbones]));
  ell([0, 0.26, 0.86 + 0.05 * t.browRidge], [0.78, 0.16, 0.3]);
  P.push({
    kind: "cone", c: [0, 0.04, 1.05 + 0.05 * t.noseBridge], b: [0, -0.5 - 0.06 * t.noseLength, 1.42 + 0.06 * t.noseLength],
    r: [0, 0, 0], ra: 0.075 + 0.015 * t.noseBridge, rb: 0.11 + 0.02 * t.noseWidth, op: "union", k: 0.1,
  });
  both((s) => ell([s * (0.15 + 0.03 * t.noseWidth), -0.56 - 0.04 * t.noseLength, 1.2], [0.11 + 0.02 * t.noseWidth, 0.095, 0.12], 0.08));
  ell([0, -0.9, 1.13], [0.38, 0.1, 0.13], 0.08);
  ell([0, -1.07, 1.1], [0.33, 0.12, 0.13], 0.08);
  both((s) => ell([s * 0.98, -0.05, -0.25], [0.11, 0.36, 0.22], 0.1));
  P.push({ kind: "capsuleY", c: [0, -3.4, neck.z], r: [neck.r, -0.5, 0], op: "union", k: 0.12 });
  both((s) => ell([s * EYE.x, 0.03, 1.08], [0.22, 0.17, 0.2], 0.08, "sub"));
  both((s) => ell([s * EYE.x, EYE.y, 0.9], [0.2, 0.2, 0.2], 0.03));
  return P;
}

function sdf(P: Prim[], x: number, y: number, z: number): number {
  let d = 1e9;
  for (const p of P) {
    let e: number;
    if (p.kind === "ell") e = ellipsoid(x, y, z, p.c, p.r);
    else if (p.kind === "cone") e = roundCone(x, y, z, p.c, p.b!, p.ra!, p.rb!);
    else {
      // vertical capsule from c.y up to r[1], radius r[0]
      const cy = Math.min(Math.max(y, p.c[1]), p.r[1]);
      const dx = x - p.c[0], dy = y - cy, dz = (z - p.c[2]) * 1.1;
      e = Math.sqrt(dx * dx + dy * dy + dz * dz) - p.r[0];
    }
    d = p.op === "union" ? (d === 1e9 ? e : smin(d, e, p.k)) : smaxSub(d, e, p.k);
  }
  return d;
}

/** Outermost surface crossing along a ray: march inward from `hi` until inside, then bisect. */
export function castRay(P: Prim[], dx: number, dy: number, dz: number, lo: number, hi: number, step: number): number {
  const C = RAY_CENTER;
  let tOut = hi;
  let t = hi;
  while (t > lo) {
    const tn = t - step;
    if (sdf(P, C.x + dx * tn, C.y + dy * tn, C.z + dz * tn) < 0) {
      let a = tn, b = t; // a inside, b outside
      for (let k = 0; k < 18; k++) {
        const m = 0.5 * (a + b);
        if (sdf(P, C.x + dx * m, C.y + dy * m, C.z + dz * m) < 0) a = m; else b = m;
      }
      return 0.5 * (a + b);
    }
    t = tn;
    tOut = t;
  }
  return tOut;
}

// --------------------------------------------------------------------------------------------- grid

/** Angles with fine spacing inside [a, b] and coarse outside, always containing `must`. */
function spacedAngles(lo: number, hi: number, a: number, b: number, fine: number, coarse: number, must: number[]): number[] {
  const out: number[] = [];
  let x = lo;
  while (x < hi - 1e-9) {
    out.push(x);
    const inFine = x >= a - 1e-9 && x < b - 1e-9;
    x += inFine ? fine : coarse;
    if (x > a && out[out.length - 1] < a) x = a;
    if (x > b && out[out.length - 1] < b) x = b;
  }
  out.push(hi);
  for (const m of must) out.push(m);
  out.sort((p, q) => p - q);
  return out.filter((v, i) => i === 0 || v - out[i - 1] > 1e-6);
}

const DEG = Math.PI / 180;

export function buildGrid(fine: { theta: number; phiLo: number; mustTheta?: number[]; rowStep?: number; colStep?: number } = { theta: 58, phiLo: -32 }): { phi: Float64Array; theta: Float64Array } {
  // Rows top → bottom. Fine rows over the face (forehead to chin), plus the seam pair.
  const phiUp = spacedAngles(-88 * DEG, 88 * DEG, fine.phiLo * DEG, 58 * DEG, (fine.rowStep ?? 1.5) * DEG, 5 * DEG, [-SEAM, SEAM]);
  // nothing between the seam pair (a fine row could land on φ = 0): the cell between them is the mouth
  const phi = Float64Array.from(phiUp.reverse().filter((p) => Math.abs(p) >= SEAM - 1e-12));
  // Columns mirror-symmetric about θ = 0 (so a mirrored landmark binds to mirrored vertices); −π only once.
  const half = spacedAngles(0, Math.PI, 0, fine.theta * DEG, (fine.colStep ?? 2) * DEG, 8 * DEG, (fine.mustTheta ?? []).map(Math.abs));
  const th = [...half.slice(1).reverse().map((t) => -t), ...half.slice(0, -1)];
  return { phi, theta: Float64Array.from(th) };
}

export function dir(theta: number, phi: number): Vec {
  const c = Math.cos(phi);
  return [c * Math.sin(theta), Math.sin(phi), c * Math.cos(theta)];
}

export function castAll(P: Prim[], phi: Float64Array, theta: Float64Array, prev?: Float32Array): Float32Array {
  const rows = phi.length, cols = theta.length;
  const out = new Float32Array(rows * cols * 3);
  const C = RAY_CENTER;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const [dx, dy, dz] = dir(theta[j], phi[i]);
      const v = i * cols + j;
      let t: number;
      if (prev) {
        if (Math.abs(sdf(P, prev[3 * v], prev[3 * v + 1], prev[3 * v + 2])) < 1e-5) {
          out[3 * v] = prev[3 * v]; out[3 * v + 1] = prev[3 * v + 1]; out[3 * v + 2] = prev[3 * v + 2];
          continue;
        }
        const px = prev[3 * v] - C.x, py = prev[3 * v + 1] - C.y, pz = prev[3 * v + 2] - C.z;
        const t0 = Math.sqrt(px * px + py * py + pz * pz);
        t = castRay(P, dx, dy, dz, Math.max(0.02, t0 - 0.25), t0 + 0.25, 0.025);
      } else t = castRay(P, dx, dy, dz, 0.02, 4.2, 0.03);
      out[3 * v] = C.x + dx * t;
      out[3 * v + 1] = C.y + dy * t;
      out[3 * v + 2] = C.z + dz * t;
    }
  return out;
}

/**
 * Each base vertex moved onto the changed surface along the field's gradient (Newton steps), i.e. to the
 * NEAREST point of the new surface. Re-casting the rays instead takes the outermost crossing, which near
 * the nose (rays grazing the alae and the tip) jumps to another layer for single vertices: those spikes,
 * scaled by a trait coefficient of ±2.5, scattered the nostril and nose-base landmarks bound to them.
 */
function settle(P: Prim[], base: Float32Array): Float32Array {
  const out = Float32Array.from(base);
  const h = 1e-4;
  for (let v = 0; v < base.length / 3; v++) {
    let x = base[3 * v], y = base[3 * v + 1], z = base[3 * v + 2];
    let d = sdf(P, x, y, z);
    if (Math.abs(d) < 1e-6) continue; // this trait does not reach the vertex
    for (let it = 0; it < 12 && Math.abs(d) >= 1e-6; it++) {
      const gx = (sdf(P, x + h, y, z) - sdf(P, x - h, y, z)) / (2 * h);
      const gy = (sdf(P, x, y + h, z) - sdf(P, x, y - h, z)) / (2 * h);
      const gz = (sdf(P, x, y, z + h) - sdf(P, x, y, z - h)) / (2 * h);
      const g2 = gx * gx + gy * gy + gz * gz;
      if (!(g2 > 1e-12)) break;
      let s = d / g2;
      const step = Math.abs(s) * Math.sqrt(g2);
      if (step > 0.05) s *= 0.05 / step; // small steps: stay on this side of any thin feature
      x -= s * gx; y -= s * gy; z -= s * gz;
      d = sdf(P, x, y, z);
    }
    out[3 * v] = x; out[3 * v + 1] = y; out[3 * v + 2] = z;
  }
  return out;
}

// ----------------------------------------------------------------------------------- analytic fields

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};
const gauss = (d2: number, r: number) => Math.exp(-d2 / (r * r));

/** Upper/lower lid heights above/below the eye centre at horizontal offset dx (0 outside the eye). */
export function lidHeights(dx: number): { up: number; down: number } {
  const q = 1 - (dx / EYE.halfWidth) ** 2;
  if (q <= 0) return { up: 0, down: 0 };
  // The upper lid peaks a little towards the inner corner, as in real eyes; callers pass dx measured outward.
  const skew = 1 - 0.12 * (dx / EYE.halfWidth);
  return { up: EYE.up * Math.pow(q, 0.75) * skew, down: EYE.down * Math.pow(q, 1.1) };
}

/** Displacement (at coefficient 1) of a base vertex for a field basis. */
function fieldDisplacement(
  name: BasisName, x: number, y: number, z: number, row: number, phi: number, theta: number, out: Vec,
): void {
  out[0] = out[1] = out[2] = 0;
  const front = smooth(0.1, 0.5, z);
  const side = x < 0 ? -1 : 1;
  // Sideways pulls use a sign that passes smoothly through 0 on the midline: with the hard sign the
  // midline column (x = 0 exactly) moved with the right half while its left neighbour moved the other
  // way, which folded the cells there and lit a bright seam down the centre (lips, brows).
  const pull = Math.tanh(x / 0.03);
  const ex = side * EYE.x, ey = EYE.y;
  const dEye2 = (x - ex) ** 2 + (y - ey) ** 2;
  const dyM = y - MOUTH_Y;
  const mouthFall = gauss(x * x / 1.6 + dyM * dyM * 1.2, 0.45) * front;
  const slit = 1 - smooth(MOUTH.slit * MOUTH.halfWidth, MOUTH.halfWidth * 1.02, Math.abs(x));
  switch (name) {
    case "eyeSize": {
      const f = (1 - smooth(0.2, 0.4, Math.sqrt(dEye2))) * front;
      out[0] = (x - ex) * 0.12 * f; out[1] = (y - ey) * 0.12 * f;
      break;
    }
    case "eyeSpacing": {
      const f = (1 - smooth(0.18, 0.42, Math.sqrt(dEye2))) * front;
      out[0] = pull * 0.04 * f;
      break;
    }
    case "lipThickness": {
      const f = gauss(x * x / 2.2 + dyM * dyM * 0.6, 0.3) * front;
      out[1] = dyM * 0.22 * f; out[2] = 0.025 * f;
      break;
    }
    case "mouthWidth": {
      out[0] = x * 0.14 * mouthFall;
      break;
    }
    case "jawOpen": {
      // Rotate the lower face about the jaw hinge; the weight tears only along the slit, so the cheeks stretch.
      const below = phi < 0;
      const lateral = 1 - smooth(0.35, 0.95, Math.abs(x));
      const down = 1 - smooth(-2.0, -2.5, y);
      const up = below ? 1 : 1 - smooth(0.0, 0.45, dyM);
      let w = lateral * down * up * smooth(-0.6, 0.2, z);
      if (!below) w *= 1 - slit;
      const a = 14 * DEG * w;
      const hy = -0.35, hz = -0.3;
      const ry = y - hy, rz = z - hz;
      const c = Math.cos(a), s = Math.sin(a);
      out[1] = ry * c - rz * s - ry - 0.03 * w;
      out[2] = ry * s + rz * c - rz;
      break;
    }
    case "smile": {
      const cx = side * MOUTH.halfWidth;
      const f = gauss((x - cx) ** 2 + dyM * dyM * 1.5, 0.26) * front;
      const cheek = gauss((x - side * 0.5) ** 2 + (y + 0.45) ** 2, 0.25) * front;
      out[0] = pull * 0.06 * f; out[1] = 0.085 * f + 0.04 * cheek; out[2] = -0.04 * f + 0.03 * cheek;
      break;
    }
    case "pucker": {
      out[0] = -x * 0.35 * mouthFall; out[2] = 0.12 * mouthFall;
      break;
    }
    case "blinkRight":
    case "blinkLeft": {
      if ((name === "blinkRight") !== (x < 0)) break;
      const dxo = (x - ex) * side; // outward offset
      const { up, down } = lidHeights(dxo);
      const h = up + down;
      const low = ey - down;
      if (h <= 0 || z < 0.6) break;
      if (y >= low && y <= ey + up) {
        out[1] = -(y - low); out[2] = 0.03 * (y - low) / h;
      } else if (y > ey + up) {
        const fall = 1 - smooth(0, 0.16, y - (ey + up));
        out[1] = -h * fall; out[2] = 0.03 * fall;
      }
      break;
    }
    case "browRaise": {
      const f = gauss((x - side * 0.42) ** 2 * 0.7 + (y - 0.3) ** 2, 0.3) * front;
      out[1] = 0.09 * f;
      break;
    }
    case "browFrown": {
      const f = gauss((x - side * 0.22) ** 2 + (y - 0.26) ** 2, 0.2) * front;
      out[0] = -pull * 0.045 * f; out[1] = -0.06 * f; out[2] = 0.015 * f;
      break;
    }
    default:
      break;
  }
  void row; void theta;
}

function sparse(name: BasisName, full: Float32Array): Basis {
  const n = full.length / 3;
  const keep: number[] = [];
  for (let v = 0; v < n; v++)
    if (Math.abs(full[3 * v]) + Math.abs(full[3 * v + 1]) + Math.abs(full[3 * v + 2]) > 2e-5) keep.push(v);
  const idx = Uint32Array.from(keep);
  const d = new Float32Array(keep.length * 3);
  keep.forEach((v, k) => { d[3 * k] = full[3 * v]; d[3 * k + 1] = full[3 * v + 1]; d[3 * k + 2] = full[3 * v + 2]; });
  return { name, idx, d };
}

const cached = new Map<FaceModelKind, HeadModel>();

/** The base mesh and every blendshape: built once per process (~1 s), or read from the disk cache. */
export function headModel(kind: FaceModelKind = "procedural"): HeadModel {
  let m = cached.get(kind);
  if (!m) {
    m = kind === "sfm" ? buildSfmHead() : precomputed("head", buildHead);
    cached.set(kind, m);
  }
  return m;
}

function buildHead(): HeadModel {
  const { phi, theta } = buildGrid();
  const rows = phi.length, cols = theta.length;
  const base = castAll(primitives(ZERO_TRAITS), phi, theta);
  const bases: Basis[] = [];
  for (const t of SDF_TRAITS) {
    const moved = settle(primitives({ ...ZERO_TRAITS, [t]: 1 }), base);
    for (let k = 0; k < moved.length; k++) moved[k] -= base[k];
    bases.push(sparse(t, moved));
  }
  const tmp: Vec = [0, 0, 0];
  for (const name of [...FIELD_TRAITS, ...EXPRESSIONS]) {
    const full = new Float32Array(base.length);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const v = i * cols + j;
        fieldDisplacement(name, base[3 * v], base[3 * v + 1], base[3 * v + 2], i, phi[i], theta[j], tmp);
        full[3 * v] = tmp[0]; full[3 * v + 1] = tmp[1]; full[3 * v + 2] = tmp[2];
      }
    bases.push(sparse(name, full));
  }
  return { rows, cols, phi, theta, base, bases, kind: "procedural" };
}

/** Deformed positions: base + Σ coeff·basis (coefficients in BASIS_NAMES order; SFM heads: SFM_COEFFS order). */
export function deform(model: HeadModel, coeffs: Float32Array, out: Float32Array): Float32Array {
  if (model.sfm) return deformSfm(model, coeffs, out);
  out.set(model.base);
  for (let b = 0; b < model.bases.length; b++) {
    const c = coeffs[b];
    if (c === 0) continue;
    const { idx, d } = model.bases[b];
    for (let k = 0; k < idx.length; k++) {
      const o = 3 * idx[k];
      out[o] += c * d[3 * k];
      out[o + 1] += c * d[3 * k + 1];
      out[o + 2] += c * d[3 * k + 2];
    }
  }
  return out;
}

/**
 * Vertex normals from grid neighbours. Each one-sided difference is normalised before averaging, so the
 * uneven column spacing (fine over the face, coarse behind) does not tilt the normals at the transition.
 * A difference along an edge is the same for both of its vertices, so each edge is normalised once
 * (half the square roots of doing it per vertex; the arithmetic, and so the result, is unchanged).
 */
let edgeScratch: { down: Float64Array; right: Float64Array } | null = null;

export function vertexNormals(model: HeadModel, P: Float32Array, out: Float32Array): Float32Array {
  const { rows, cols } = model;
  const nv = rows * cols;
  if (!edgeScratch || edgeScratch.down.length !== 3 * nv) edgeScratch = { down: new Float64Array(3 * nv), right: new Float64Array(3 * nv) };
  const { down, right } = edgeScratch;
  // down[v]: unit vector from v to the vertex below (0 on the last row); right[v]: to the next column (wrapping)
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const o = 3 * (i * cols + j);
      const a = i < rows - 1 ? o + 3 * cols : o, c = 3 * (i * cols + (j < cols - 1 ? j + 1 : 0));
      let dx = P[a] - P[o], dy = P[a + 1] - P[o + 1], dz = P[a + 2] - P[o + 2];
      let l = Math.sqrt(dx * dx + dy * dy + dz * dz) || 1;
      down[o] = dx / l; down[o + 1] = dy / l; down[o + 2] = dz / l;
      dx = P[c] - P[o]; dy = P[c + 1] - P[o + 1]; dz = P[c + 2] - P[o + 2];
      l = Math.sqrt(dx * dx + dy * dy + dz * dz) || 1;
      right[o] = dx / l; right[o + 1] = dy / l; right[o + 2] = dz / l;
    }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const o = 3 * (i * cols + j);
      const b = i > 0 ? o - 3 * cols : -1, d = 3 * (i * cols + (j > 0 ? j - 1 : cols - 1));
      // row direction: below-difference + above-difference (the first row has no vertex above)
      let rx = down[o], ry = down[o + 1], rz = down[o + 2];
      // (+0 on the first row, as its zero difference gave before: keeps the sign of a -0 component)
      if (b >= 0) { rx += down[b]; ry += down[b + 1]; rz += down[b + 2]; } else { rx += 0; ry += 0; rz += 0; }
      const cx = right[o] + right[d], cy = right[o + 1] + right[d + 1], cz = right[o + 2] + right[d + 2];
      const nx = ry * cz - rz * cy, ny = rz * cx - rx * cz, nz = rx * cy - ry * cx;
      const l = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
      out[o] = nx / l; out[o + 1] = ny / l; out[o + 2] = nz / l;
    }
  }
  return out;
}

/** Grid cell and bilinear weights of a ray direction (θ, φ): what a surface point is bound to. */
export interface Binding { v: [number, number, number, number]; w: [number, number, number, number] }

export function bindAngles(model: HeadModel, theta: number, phi: number): Binding {
  const { phi: P, theta: T, cols, rows } = model;
  // rows: φ decreasing
  let i = 0;
  while (i < rows - 2 && P[i + 1] > phi) i++;
  const fi = Math.min(1, Math.max(0, (P[i] - phi) / (P[i] - P[i + 1])));
  let j = 0;
  while (j < cols - 1 && T[j + 1] <= theta) j++;
  const j1 = (j + 1) % cols;
  const tNext = j + 1 < cols ? T[j + 1] : T[0] + 2 * Math.PI;
  const fj = Math.min(1, Math.max(0, (theta - T[j]) / (tNext - T[j])));
  return {
    v: [i * cols + j, i * cols + j1, (i + 1) * cols + j, (i + 1) * cols + j1],
    w: [(1 - fi) * (1 - fj), (1 - fi) * fj, fi * (1 - fj), fi * fj],
  };
}

export function anglesOf(x: number, y: number, z: number): { theta: number; phi: number } {
  const dx = x - RAY_CENTER.x, dy = y - RAY_CENTER.y, dz = z - RAY_CENTER.z;
  return { theta: Math.atan2(dx, dz), phi: Math.atan2(dy, Math.sqrt(dx * dx + dz * dz)) };
}
