/**
 * The texture atlas over grid coordinates (column, row), SCALE texels per cell: a region id per texel
 * (what colour family the surface has), a noise value (pores, hair strands), a hair field (height above
 * the hairline; a per-identity threshold recedes or lowers it), and the face-area flag (inside the jaw
 * contour, below the hairline) that proxy-real annotators trace.
 */
import { EYE, MOUTH, MOUTH_Y, SEAM, headModel } from "./mesh";
import { INNER_HALF, brow, curveSet, lipOuter } from "./curves";
import { lidHeights } from "./mesh";
import { Rng } from "./rng";
import { precomputed } from "./precomputed";

export const REGION = {
  skin: 0, skinOther: 1, hair: 2, brow: 3, lip: 4, mouth: 5, sclera: 6, iris: 7, pupil: 8, lash: 9, nostril: 10,
} as const;
export const REGION_COUNT = 11;

export interface Atlas {
  aw: number;
  ah: number;
  scale: number;
  data: Uint8Array;
  noise: Float32Array;
  hair: Float32Array;
  face: Uint8Array;
}

const SCALE = 4;
let cached: Atlas | null = null;

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
export function atlas(): Atlas {
  if (!cached) cached = precomputed("atlas", buildAtlas);
  return cached;
}

function buildAtlas(): Atlas {
  const m = headModel();
  const { curves, jaw } = curveSet();
  void curves;
  const { rows, cols, base, phi } = m;
  const aw = cols * SCALE, ah = rows * SCALE;
  const data = new Uint8Array(aw * ah), noise = new Float32Array(aw * ah), hair = new Float32Array(aw * ah), face = new Uint8Array(aw * ah);
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
      face[t] = inFace && z > 0.2 ? 1 : 0;
      // hair: height above the hairline (around the axis through the head centre)
      const ang = Math.atan2(x, z + 0.2);
      const ear = ax > 0.85 && y < 0.35 && y > -0.5 && z < 0.15 && z > -0.55;
      hair[t] = ear ? -9 : y - hairline(ang);
      // noise: fine per-texel speckle + smooth blotches; hair gets streaks along the rows
      const fine = rng.normal();
      const blotch = lat[(i + 1) * (cols + 2) + j + 1] * (1 - fi) + lat[(i1 + 1) * (cols + 2) + j + 1] * fi;
      noise[t] = 0.5 * fine + 0.5 * blotch;
    }
  }
  return { aw, ah, scale: SCALE, data, noise, hair, face };
}
