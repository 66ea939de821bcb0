/**
 * The visible face outline, where 300-W's annotators put the 17 jaw points: on the near side of a turned
 * face the jaw line, on the far side the silhouette of the cheek. Found by "landmark marching" (Zhu et al.,
 * CVPR 2015): each level of the frontal face contour has a line across the cheek towards the middle of the
 * face; for the current pose the outline point is the line's point furthest out in the image (along the
 * contour's outward normal carried by the head rotation), refined between samples. The levels form the
 * outline polyline, which is then spaced evenly by image arc length, as annotators space the jaw points.
 */
import { bindAngles, type HeadModel } from "./mesh";
import { solveFront } from "./curves";

export const LEVELS = 48;
export const SAMPLES = 24;

export interface Marching {
  /** LEVELS × SAMPLES ray angles: sample 0 on the frontal contour, the last at the line's inner end. */
  theta: Float64Array;
  phi: Float64Array;
  /** Outward normal of the frontal contour per level, in head (x, y). */
  nx: Float64Array;
  ny: Float64Array;
}

/**
 * Marching lines from a frontal contour polyline (angles plus its frontal x, y; ordered image-left top →
 * chin → image-right top) towards `centre` (head x, y): LEVELS levels evenly spaced along the contour.
 */
export function marchingLines(
  m: HeadModel, N: Float32Array, contour: { theta: ArrayLike<number>; phi: ArrayLike<number> }, cx: number[], cy: number[], centre: { x: number; y: number },
): Marching {
  const n = cx.length;
  const cum = [0];
  for (let k = 1; k < n; k++) cum.push(cum[k - 1] + Math.hypot(cx[k] - cx[k - 1], cy[k] - cy[k - 1]));
  const at = (f: number) => {
    const s = f * cum[n - 1];
    let k = 1;
    while (k < n - 1 && cum[k] < s) k++;
    const g = cum[k] === cum[k - 1] ? 0 : Math.min(1, Math.max(0, (s - cum[k - 1]) / (cum[k] - cum[k - 1])));
    const lerp = (a: ArrayLike<number>) => a[k - 1] + g * (a[k] - a[k - 1]);
    return { theta: lerp(contour.theta), phi: lerp(contour.phi), x: lerp(cx), y: lerp(cy) };
  };
  const theta = new Float64Array(LEVELS * SAMPLES), phi = new Float64Array(LEVELS * SAMPLES);
  const nx = new Float64Array(LEVELS), ny = new Float64Array(LEVELS);
  for (let l = 0; l < LEVELS; l++) {
    const c = at(l / (LEVELS - 1));
    const a = at(Math.max(0, l - 1) / (LEVELS - 1)), b = at(Math.min(LEVELS - 1, l + 1) / (LEVELS - 1));
    let ox = b.y - a.y, oy = -(b.x - a.x);
    const len = Math.hypot(ox, oy) || 1;
    ox /= len; oy /= len;
    if (ox * (c.x - centre.x) + oy * (c.y - centre.y) < 0) { ox = -ox; oy = -oy; }
    nx[l] = ox; ny[l] = oy;
    const inner = solveFront(m, N, c.x + 0.6 * (centre.x - c.x), c.y + 0.6 * (centre.y - c.y));
    for (let k = 0; k < SAMPLES; k++) {
      const f = k / (SAMPLES - 1);
      theta[l * SAMPLES + k] = c.theta + f * (inner.theta - c.theta);
      phi[l * SAMPLES + k] = c.phi + f * (inner.phi - c.phi);
    }
  }
  return { theta, phi, nx, ny };
}

export interface MarchBinding { verts: Uint32Array; weights: Float32Array; nx: Float64Array; ny: Float64Array }

export function bindMarching(m: HeadModel, mk: Marching): MarchBinding {
  const n = mk.theta.length;
  const verts = new Uint32Array(4 * n), weights = new Float32Array(4 * n);
  for (let q = 0; q < n; q++) {
    const b = bindAngles(m, mk.theta[q], mk.phi[q]);
    for (let k = 0; k < 4; k++) { verts[4 * q + k] = b.v[k]; weights[4 * q + k] = b.w[k]; }
  }
  return { verts, weights, nx: mk.nx, ny: mk.ny };
}

let scratch: Float32Array | null = null;

/**
 * The visible outline for deformed positions P, rotation R (row-major 3×3) and a projector: LEVELS points
 * (u, v in normalised image coordinates, d depth).
 */
export function outline(
  mb: MarchBinding, P: Float32Array, R: Float64Array,
  project: (X: Float32Array, n: number, u: Float32Array, v: Float32Array, d: Float32Array) => void,
): { u: Float64Array; v: Float64Array; d: Float64Array } {
  const n = LEVELS * SAMPLES;
  if (!scratch || scratch.length !== 3 * n) scratch = new Float32Array(3 * n);
  const X = scratch;
  for (let q = 0; q < n; q++) {
    let x = 0, y = 0, z = 0;
    for (let k = 4 * q; k < 4 * q + 4; k++) {
      const v = 3 * mb.verts[k], w = mb.weights[k];
      x += w * P[v]; y += w * P[v + 1]; z += w * P[v + 2];
    }
    X[3 * q] = x; X[3 * q + 1] = y; X[3 * q + 2] = z;
  }
  const u = new Float32Array(n), v = new Float32Array(n), d = new Float32Array(n);
  project(X, n, u, v, d);
  const ou = new Float64Array(LEVELS), ov = new Float64Array(LEVELS), od = new Float64Array(LEVELS);
  for (let l = 0; l < LEVELS; l++) {
    // the contour's outward normal, rotated with the head, in image axes (v points down)
    let ix = R[0] * mb.nx[l] + R[1] * mb.ny[l], iy = -(R[3] * mb.nx[l] + R[4] * mb.ny[l]);
    const len = Math.hypot(ix, iy) || 1;
    ix /= len; iy /= len;
    const o = l * SAMPLES;
    let best = 0, bv = -Infinity;
    for (let k = 0; k < SAMPLES; k++) {
      const s = u[o + k] * ix + v[o + k] * iy;
      if (s > bv) { bv = s; best = k; }
    }
    // parabola through the best sample and its neighbours: the outline between samples
    let f = 0;
    if (best > 0 && best < SAMPLES - 1) {
      const a = u[o + best - 1] * ix + v[o + best - 1] * iy, c = u[o + best + 1] * ix + v[o + best + 1] * iy;
      const den = a - 2 * bv + c;
      if (den < 0) f = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den));
    }
    const k0 = f >= 0 ? best : best - 1, g = f >= 0 ? f : 1 + f;
    const k1 = Math.min(SAMPLES - 1, k0 + 1);
    ou[l] = u[o + k0] + g * (u[o + k1] - u[o + k0]);
    ov[l] = v[o + k0] + g * (v[o + k1] - v[o + k0]);
    od[l] = d[o + k0] + g * (d[o + k1] - d[o + k0]);
  }
  return { u: ou, v: ov, d: od };
}

/** `count` points spaced evenly by arc length along a polyline, both ends included. */
export function evenly(p: { u: ArrayLike<number>; v: ArrayLike<number>; d: ArrayLike<number> }, count: number): { u: Float64Array; v: Float64Array; d: Float64Array } {
  const n = p.u.length;
  const cum = new Float64Array(n);
  for (let k = 1; k < n; k++) cum[k] = cum[k - 1] + Math.hypot(p.u[k] - p.u[k - 1], p.v[k] - p.v[k - 1]);
  const u = new Float64Array(count), v = new Float64Array(count), d = new Float64Array(count);
  let k = 1;
  for (let j = 0; j < count; j++) {
    const s = count === 1 ? cum[n - 1] / 2 : (cum[n - 1] * j) / (count - 1);
    while (k < n - 1 && cum[k] < s) k++;
    const g = cum[k] === cum[k - 1] ? 0 : Math.min(1, Math.max(0, (s - cum[k - 1]) / (cum[k] - cum[k - 1])));
    u[j] = p.u[k - 1] + g * (p.u[k] - p.u[k - 1]);
    v[j] = p.v[k - 1] + g * (p.v[k] - p.v[k - 1]);
    d[j] = p.d[k - 1] + g * (p.d[k] - p.d[k - 1]);
  }
  return { u, v, d };
}
