/**
 * The texture atlas over grid coordinates (column, row), SCALE texels per cell: a region id per texel
 * (what colour family the surface has), a noise value (pores, hair strands), a hair field (height above
 * the hairline; a per-identity threshold recedes or lowers it), and the face-area flag (inside the jaw
 * contour, below the hairline) that proxy-real annotators trace.
 */
import { EYE, MOUTH, MOUTH_Y, SEAM, anglesOf, headModel, vertexNormals, type HeadModel } from "./mesh";
import { INNER_HALF, brow, curveSet, lipOuter, surfaceAt, type CurveSet } from "./curves";
import type { FaceModelKind } from "./face-model";
import { lidHeights } from "./mesh";
import { Rng } from "./rng";
import { precomputed } from "./precomputed";

export const REGION = {
  skin: 0, skinOther: 1, hair: 2, brow: 3, lip: 4, mouth: 5, sclera: 6, iris: 7, pupil: 8, lash: 9, nostril: 10,
  /** Not an atlas region: the palette slot of the teeth, painted inside the open mouth. */
  teeth: 11,
} as const;
export const REGION_COUNT = 12;

export interface Atlas {
  aw: number;
  ah: number;
  scale: number;
  data: Uint8Array;
  noise: Float32Array;
  hair: Float32Array;
  face: Uint8Array;
  /** Albedo multiplier (iris streaks and limbal ring, lid shadow on the eyeball, lip edges). */
  detail: Float32Array;
  /** Where skin flushes (cheeks, nose, ears) and where a beard grows, 0…1. */
  flush: Float32Array;
  beard: Float32Array;
  /** Catchlight on the eyes (added, scaled by the key light). */
  glint: Float32Array;
  /** Ambient occlusion per grid vertex of the mean head (creases and sockets get less sky). */
  ao: Float32Array;
}

const SCALE = 4;
const cached = new Map<FaceModelKind, Atlas>();

/**
 * Even-odd test against a polygon, split in two for speed: the x where each edge crosses the row `py`
 * (once per atlas row), then a point is inside when an odd number of those lie to its right.
 */
function rowCrossings(py: number, xs: Float64Array, ys: Float64Array): Float64Array {
  const out: number[] = [];
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++)
    if (ys[i] > py !== ys[j] > py) out.push(((xs[j] - xs[i]) * (py - ys[i])) / (ys[j] - ys[i]) + xs[i]);
  return Float64Array.from(out);
}
function insideRow(px: number, crossings: Float64Array): boolean {
  let inside = false;
  for (let k = 0; k < crossings.length; k++) if (px < crossings[k]) inside = !inside;
  return inside;
}

/** Height of the hairline as a function of the azimuth around the head's vertical axis. */
function hairline(ang: number): number {
  const a = Math.abs(ang) / (Math.PI / 180);
  const pts: [number, number][] = [[0, 0.95], [35, 0.86], [62, 0.62], [80, 0.42], [105, 0.3], [130, -0.45], [180, -0.8]];
  for (let k = 1; k < pts.length; k++)
    if (a <= pts[k][0]) {
      const f = (a - pts[k - 1][0]) / (pts[k][0] - pts[k - 1][0]);
      return pts[k - 1][1] + f * (pts[k][1] - pts[k - 1][1]);
    }
  return -0.8;
}

/** The texture atlas: built once per process, or read from the disk cache. */
export function atlas(kind: FaceModelKind = "procedural"): Atlas {
  let a = cached.get(kind);
  if (!a) {
    a = kind === "sfm" ? precomputed(`atlas-sfm-${headModel("sfm").sfm!.fingerprint}`, () => buildAtlas("sfm")) : precomputed("atlas", () => buildAtlas("procedural"));
    cached.set(kind, a);
  }
  return a;
}

/** Frontal (x, y) polyline of a curve (or its left twin) on the mean head. */
function frontal(m: HeadModel, cs: CurveSet, name: string, left: boolean): { x: number[]; y: number[] } {
  const c = cs.curves.find((q) => q.name === name)!;
  const th = left ? (c.twin ? c.twin.theta : c.theta.map((t) => -t)) : c.theta, ph = left && c.twin ? c.twin.phi : c.phi;
  const x: number[] = [], y: number[] = [];
  for (let k = 0; k < th.length; k++) { const s = surfaceAt(m, cs.normals, th[k], ph[k]); x.push(s.x); y.push(s.y); }
  return { x, y };
}
/** y of an x-monotonic polyline at x (null outside it). */
function yAt(p: { x: number[]; y: number[] }, x: number): number | null {
  const n = p.x.length, inc = p.x[n - 1] > p.x[0];
  const lo = inc ? p.x[0] : p.x[n - 1], hi = inc ? p.x[n - 1] : p.x[0];
  if (x < lo || x > hi) return null;
  for (let k = 1; k < n; k++) {
    const a = p.x[k - 1], b = p.x[k];
    if ((x - a) * (x - b) <= 0 && a !== b) return p.y[k - 1] + ((x - a) / (b - a)) * (p.y[k] - p.y[k - 1]);
  }
  return null;
}
function insidePoly(p: { x: number[]; y: number[] }, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = p.x.length - 1; i < p.x.length; j = i++)
    if (p.y[i] > y !== p.y[j] > y && x < ((p.x[j] - p.x[i]) * (y - p.y[i])) / (p.y[j] - p.y[i]) + p.x[i]) inside = !inside;
  return inside;
}

/** Regions of the SFM face from its landmark curves on the mean (frontal x, y): brows, eyes, lips, nostrils. */
function sfmRegions(m: HeadModel, cs: CurveSet): (x: number, y: number, z: number, r: number, seamCell: boolean, th: number) => number {
  const sides = [false, true].map((left) => ({
    browUp: frontal(m, cs, "brow-upper", left), browLow: frontal(m, cs, "brow-lower", left),
    eyeUp: frontal(m, cs, "eye-upper", left), eyeLow: frontal(m, cs, "eye-lower", left),
    pupil: frontal(m, cs, "pupil", left), nostril: frontal(m, cs, "nostril", left),
  }));
  const lipUp = frontal(m, cs, "lip-outer-upper", false), lipLow = frontal(m, cs, "lip-outer-lower", false);
  const L = m.sfm!;
  const corner = (v: number) => anglesOf(L.mean[3 * v], L.mean[3 * v + 1], L.mean[3 * v + 2]).theta;
  const slit = [corner(L.slitUpper[0]), corner(L.slitUpper[L.slitUpper.length - 1])];
  return (x, y, z, r, seamCell, th) => {
    if (z < 0.55) return r;
    const s = sides[x < 0 ? 0 : 1];
    const bu = yAt(s.browUp, x), bl = yAt(s.browLow, x);
    if (bu !== null && bl !== null && y <= bu && y >= bl) r = REGION.brow;
    const eu = yAt(s.eyeUp, x), el = yAt(s.eyeLow, x);
    if (eu !== null && el !== null) {
      const x0 = Math.min(s.eyeUp.x[0], s.eyeUp.x[s.eyeUp.x.length - 1]), x1 = Math.max(s.eyeUp.x[0], s.eyeUp.x[s.eyeUp.x.length - 1]);
      const hw = (x1 - x0) / 2, edge = 1 - Math.abs(x - (x0 + x1) / 2) / hw;
      if (y <= eu && y >= el) {
        const rr = Math.hypot(x - s.pupil.x[0], y - s.pupil.y[0]);
        r = rr < 0.032 ? REGION.pupil : rr < 0.08 ? REGION.iris : REGION.sclera;
      } else if (y > eu && y < eu + 0.012 + 0.012 * edge) r = REGION.lash;
    }
    const lu = yAt(lipUp, x), ll = yAt(lipLow, x);
    if (lu !== null && ll !== null && y <= lu && y >= ll) r = REGION.lip;
    if (seamCell && th > slit[0] && th < slit[1]) r = REGION.mouth;
    if (insidePoly(s.nostril, x, y) && z > 1.1) r = REGION.nostril;
    return r;
  };
}

function buildAtlas(kind: FaceModelKind): Atlas {
  const m = headModel(kind);
  const cs = curveSet(kind);
  const { jaw } = cs;
  const regionsSfm = kind === "sfm" ? sfmRegions(m, cs) : null;
  // Reference points of the mean face (frontal x, y) for the painted maps.
  const F = (name: string, left = false, k = 0) => { const p = frontal(m, cs, name, left); const q = k < 0 ? p.x.length + k : k; return { x: p.x[q], y: p.y[q] }; };
  const eyeR = F("pupil"), eyeL = F("pupil", true), tip = F("nose-bridge", false, -1), nose = F("nose-base", false, 2);
  const lips = frontal(m, cs, "lip-outer-upper", false), chinY = Math.min(...frontal(m, cs, "jaw", false).y);
  const mouthY = lips.y[Math.floor(lips.y.length / 2)];
  const eyeDist = eyeL.x - eyeR.x;
  const g2 = (dx: number, dy: number, r: number) => Math.exp(-(dx * dx + dy * dy) / (r * r));
  const sm = (e0: number, e1: number, v: number) => { const q = Math.min(1, Math.max(0, (v - e0) / (e1 - e0))); return q * q * (3 - 2 * q); };
  const { rows, cols, base, phi } = m;
  const aw = cols * SCALE, ah = rows * SCALE;
  const data = new Uint8Array(aw * ah), noise = new Float32Array(aw * ah), hair = new Float32Array(aw * ah), face = new Uint8Array(aw * ah);
  const detail = new Float32Array(aw * ah).fill(1), flush = new Float32Array(aw * ah), beard = new Float32Array(aw * ah), glint = new Float32Array(aw * ah);
  const seamTop = phi.findIndex((p) => Math.abs(p - SEAM) < 1e-9);
  // Jaw polygon closed over the forehead, in angles.
  const jt = Float64Array.from([...jaw.theta, jaw.theta[jaw.theta.length - 1], jaw.theta[0]]);
  const jp = Float64Array.from([...jaw.phi, 1.4, 1.4]);
  const rng = new Rng(12345);
  // coarse random lattice for smooth skin blotches
  const lat = new Float32Array((cols + 2) * (rows + 2)).map(() => rng.normal());
  for (let tv = 0; tv < ah; tv++) {
    const i = Math.floor(tv / SCALE), fi = (tv % SCALE + 0.5) / SCALE;
    const i1 = Math.min(i + 1, rows - 1);
    const ph = phi[i] + fi * (phi[i1] - phi[i]);
    const crossings = rowCrossings(ph, jt, jp);
    for (let tu = 0; tu < aw; tu++) {
      const j = Math.floor(tu / SCALE), fj = (tu % SCALE + 0.5) / SCALE;
      const j1 = (j + 1) % cols;
      const P = (v: number, c: number) => base[3 * v + c];
      const a = i * cols + j, b = i * cols + j1, c = i1 * cols + j, d = i1 * cols + j1;
      const bl = (k: number) => (1 - fi) * ((1 - fj) * P(a, k) + fj * P(b, k)) + fi * ((1 - fj) * P(c, k) + fj * P(d, k));
      const x = bl(0), y = bl(1), z = bl(2);
      const t = tv * aw + tu;
      const th = m.theta[j] + fj * ((j + 1 < cols ? m.theta[j + 1] : m.theta[0] + 2 * Math.PI) - m.theta[j]);
      let r: number = REGION.skinOther;
      const inFace = insideRow(th, crossings);
      if (inFace) r = REGION.skin;
      const front = z > 0.55;
      const ax = Math.abs(x);
      if (regionsSfm) {
        data[t] = regionsSfm(x, y, z, r, i === seamTop, th);
      } else {
      // brows
      const bw = brow(ax);
      if (front && bw && Math.abs(y - bw.y) < bw.th / 2) r = REGION.brow;
      // eyes
      const ex = x < 0 ? -EYE.x : EYE.x;
      const dxo = (x - ex) * (x < 0 ? -1 : 1);
      const lid = lidHeights(dxo);
      if (front && z > 0.8 && lid.up > 0) {
        const dy = y - EYE.y;
        if (dy <= lid.up && dy >= -lid.down) {
          const rr = Math.hypot(x - ex, dy);
          r = rr < EYE.pupil ? REGION.pupil : rr < EYE.iris ? REGION.iris : REGION.sclera;
        } else if (dy > lid.up && dy < lid.up + 0.016 + 0.01 * (1 - Math.abs(dxo) / EYE.halfWidth)) r = REGION.lash;
      }
      // lips and the mouth slit (the cell between the seam rows)
      if (front) {
        const lo = lipOuter(x);
        if (ax < MOUTH.halfWidth && y <= MOUTH_Y + lo.up && y >= MOUTH_Y - lo.down) r = REGION.lip;
        if (i === seamTop && ax < INNER_HALF) r = REGION.mouth;
        // nostrils
        const nx = (ax - 0.085) / 0.04, ny = (y + 0.63) / 0.02;
        if (nx * nx + ny * ny < 1 && z > 1.0) r = REGION.nostril;
      }
      data[t] = r;
      }
      // (the SFM's contour runs far back, in front of the ears: its whole inside is face)
      face[t] = inFace && z > (kind === "sfm" ? -0.3 : 0.2) ? 1 : 0;
      // hair: height above the hairline (around the axis through the head centre)
      const ang = Math.atan2(x, z + 0.2);
      const ear = ax > 0.85 && y < 0.35 && y > -0.5 && z < 0.15 && z > -0.55;
      hair[t] = ear ? -9 : y - hairline(ang);
      // noise: fine per-texel speckle + smooth blotches; hair gets streaks along the rows
      const fine = rng.normal();
      const blotch = lat[(i + 1) * (cols + 2) + j + 1] * (1 - fi) + lat[(i1 + 1) * (cols + 2) + j + 1] * fi;
      noise[t] = 0.5 * fine + 0.5 * blotch;
      // painted maps (why: real skin is not one flat colour; eyes read as eyes by their ring, lid shadow and glint)
      const reg = data[t];
      if (z > 0.3) {
        const e = x < 0 ? eyeR : eyeL;
        flush[t] = Math.min(1, 0.8 * g2(ax - eyeDist * 0.62, y - (e.y - 0.42 * eyeDist), 0.26) + 0.7 * g2(x - tip.x, y - tip.y, 0.13) + 0.25 * g2(x, y - (mouthY - 0.2), 0.2));
        const beardTop = nose.y - 0.05 - 0.12 * sm(0.05, 0.3, ax) + 0.5 * sm(0.55, 1.0, ax);
        beard[t] = inFace || y < chinY + 0.1 ? sm(beardTop + 0.02, beardTop - 0.06, y) * (1 - sm(chinY - 0.15, chinY - 0.5, y)) : 0;
        if (reg === REGION.lip) beard[t] = 0;
        const rr = Math.hypot(x - e.x, y - e.y);
        if (reg === REGION.iris) {
          const a = Math.atan2(y - e.y, x - e.x);
          detail[t] = (rr > 0.062 ? 0.55 : 1) * (0.85 + 0.3 * Math.abs(Math.sin(a * 7 + Math.sin(a * 3) * 2)));
        } else if (reg === REGION.sclera) {
          const above = y - e.y;
          detail[t] = 0.95 - 0.35 * sm(0.0, 0.05, above) - 0.15 * sm(0.1, 0.2, Math.abs(x - e.x));
        } else if (reg === REGION.lip) detail[t] = 0.9 + 0.2 * g2(x * 0.6, y - mouthY, 0.1);
        if (reg === REGION.iris || reg === REGION.pupil) glint[t] = g2(x - e.x + 0.024, y - e.y - 0.024, 0.012) > 0.5 ? 1 : 0;
      }
      const ear2 = ax > 0.85 && y < 0.35 && y > -0.5 && z < 0.15 && z > -0.55;
      if (ear2) flush[t] = 0.6;
    }
  }
  return { aw, ah, scale: SCALE, data, noise, hair, face, detail, flush, beard, glint, ao: occlusion(m) };
}

/**
 * Ambient occlusion of the mean head per grid vertex, from the grid neighbours that rise above the
 * vertex's tangent plane (a cheap horizon estimate: eye sockets, the sides of the nose, the mouth corners
 * and the neck under the chin get less sky light).
 */
function occlusion(m: HeadModel): Float32Array {
  const { rows, cols, base } = m;
  const N = curveSetNormals(m);
  const ao = new Float32Array(rows * cols);
  const R = 4;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = i * cols + j;
      let occ = 0, tot = 0;
      for (let di = -R; di <= R; di++) {
        const ii = i + di;
        if (ii < 0 || ii >= rows) continue;
        for (let dj = -R; dj <= R; dj++) {
          if (di === 0 && dj === 0) continue;
          const u = ii * cols + ((j + dj + cols) % cols);
          const dx = base[3 * u] - base[3 * v], dy = base[3 * u + 1] - base[3 * v + 1], dz = base[3 * u + 2] - base[3 * v + 2];
          const d = Math.hypot(dx, dy, dz) || 1;
          const w = 1 / (1 + (d / 0.12) ** 2);
          occ += w * Math.max(0, (N[3 * v] * dx + N[3 * v + 1] * dy + N[3 * v + 2] * dz) / d - 0.05);
          tot += w;
        }
      }
      ao[v] = Math.max(0.4, 1 - (1.6 * occ) / (tot || 1));
    }
  return ao;
}
function curveSetNormals(m: HeadModel): Float32Array {
  return vertexNormals(m, m.base, new Float32Array(m.base.length));
}
