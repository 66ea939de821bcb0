/**
 * The simulated "proxy-real" domain (a stand-in for 300-W; NOT real data): 68 labels placed the way 300-W
 * annotators place them, and a camera-like image pipeline.
 *
 * Labels: the jaw follows the visible 2D outline of the face (not fixed surface points), re-spaced evenly
 * along it; eye and mouth corners go to where the eye opening / lips visibly end; then annotator noise
 * (more along the jaw outline than across it, plus a per-image bias on the brows).
 * Image: blur, colour cast, low light, sensor noise and 8×8 DCT quantisation (JPEG-like blocking).
 */
import { REGION } from "./atlas";
import type { RenderedFace } from "./render";
import type { Rng } from "./rng";
import type { Split } from "./types";

/**
 * The 17 jaw points where an annotator draws the face oval: on the outer boundary of the rendered face
 * area (T.face: face skin inside the jaw contour, not hair/ears/neck), evenly spaced, ordered from surface
 * point 0's side through the chin to point 16's side. The boundary is read in polar form around the
 * centroid of the face area (a stable interior point at any yaw): along each ray the last face pixel.
 * Surface jaw points only pick the angular range, so hidden far-side points cannot pull labels inside.
 * Returns 34 floats in target pixels, or null when the face area is (almost) empty.
 */
export function traceOutline(T: RenderedFace["target"], P: ArrayLike<number>): Float64Array | null {
  const W = T.w, H = T.h, face = T.face;
  let cx = 0, cy = 0, n = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (face[y * W + x]) { cx += x + 0.5; cy += y + 0.5; n++; }
  if (n < 20) return null;
  cx /= n; cy /= n;
  const ang = (i: number) => Math.atan2(P[2 * i + 1] - cy, P[2 * i] - cx);
  const a0 = ang(0), a16 = ang(16), a8 = ang(8);
  const TAU = 2 * Math.PI, wrap = (a: number) => ((a % TAU) + TAU) % TAU;
  // Sweep from a0 to a16 the way that passes the chin (point 8): decreasing angle when frontal.
  let sweep = -wrap(a0 - a16);
  if (wrap(a0 - a8) > wrap(a0 - a16)) sweep = wrap(a16 - a0);
  const R = Math.hypot(W, H);
  const steps = 240;
  const xs = new Float64Array(steps + 1), ys = new Float64Array(steps + 1);
  for (let s = 0; s <= steps; s++) {
    const a = a0 + (sweep * s) / steps, dx = Math.cos(a), dy = Math.sin(a);
    let last = 0;
    for (let t = 0; t < R; t += 0.5) {
      const x = Math.floor(cx + dx * t), y = Math.floor(cy + dy * t);
      if (x < 0 || y < 0 || x >= W || y >= H) break;
      if (face[y * W + x]) last = t;
    }
    xs[s] = cx + dx * (last + 0.5); ys[s] = cy + dy * (last + 0.5);
  }
  // 17 points evenly spaced by arc length along the traced outline, ends kept.
  const cum = new Float64Array(steps + 1);
  for (let s = 1; s <= steps; s++) cum[s] = cum[s - 1] + Math.hypot(xs[s] - xs[s - 1], ys[s] - ys[s - 1]);
  const out = new Float64Array(34);
  let k = 1;
  for (let j = 0; j <= 16; j++) {
    const target = (cum[steps] * j) / 16;
    while (k < steps && cum[k] < target) k++;
    const g = cum[k] === cum[k - 1] ? 0 : Math.min(1, Math.max(0, (target - cum[k - 1]) / (cum[k] - cum[k - 1])));
    out[2 * j] = xs[k - 1] + g * (xs[k] - xs[k - 1]);
    out[2 * j + 1] = ys[k - 1] + g * (ys[k] - ys[k - 1]);
  }
  // Where the outline folds back along a ray (under the chin, past the lips at profile) the polar trace
  // bridges the fold with a straight segment; snap each point to the nearest outline pixel.
  const edge: number[] = [];
  const isFace = (x: number, y: number) => x >= 0 && y >= 0 && x < W && y < H && face[y * W + x] === 1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (face[y * W + x] && (!isFace(x - 1, y) || !isFace(x + 1, y) || !isFace(x, y - 1) || !isFace(x, y + 1))) edge.push(x + 0.5, y + 0.5);
  for (let j = 0; j <= 16; j++) {
    let best = Infinity, bx = out[2 * j], by = out[2 * j + 1];
    for (let e = 0; e < edge.length; e += 2) {
      const d = (edge[e] - out[2 * j]) ** 2 + (edge[e + 1] - out[2 * j + 1]) ** 2;
      if (d < best) { best = d; bx = edge[e]; by = edge[e + 1]; }
    }
    out[2 * j] = bx; out[2 * j + 1] = by;
  }
  return out;
}

/** Annotator-style points in target pixels, before annotator noise (what the outline test checks). */
export function annotatorShape(f: RenderedFace): { P: Float64Array; visible: Uint8Array } {
  const T = f.target, ss = f.ss, W = T.w;
  const P = new Float64Array(136);
  for (let i = 0; i < 136; i++) P[i] = f.points68[i] * ss;
  const visible = Uint8Array.from(f.visible68);

  // Jaw: on the visible outline of the face area, between the rays towards surface points 0 and 16.
  const jaw = traceOutline(T, P);
  if (jaw) for (let j = 0; j <= 16; j++) { P[2 * j] = jaw[2 * j]; P[2 * j + 1] = jaw[2 * j + 1]; visible[j] = 1; }

  // Corners where they look to be: extremes of the visible opening along the corner-to-corner axis.
  const corners = (ids: number[], a: number, b: number, regions: number[], follow: [number, number][]) => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of ids) { x0 = Math.min(x0, P[2 * i]); x1 = Math.max(x1, P[2 * i]); y0 = Math.min(y0, P[2 * i + 1]); y1 = Math.max(y1, P[2 * i + 1]); }
    const mx = (x1 - x0) * 0.25 + 1, my = (y1 - y0) * 0.25 + 1;
    const ax = P[2 * b] - P[2 * a], ay = P[2 * b + 1] - P[2 * a + 1], al = Math.hypot(ax, ay) || 1;
    let lo = Infinity, hi = -Infinity, lox = 0, loy = 0, hix = 0, hiy = 0, n = 0;
    for (let y = Math.max(0, Math.floor(y0 - my)); y <= Math.min(T.h - 1, Math.ceil(y1 + my)); y++)
      for (let x = Math.max(0, Math.floor(x0 - mx)); x <= Math.min(W - 1, Math.ceil(x1 + mx)); x++) {
        if (!regions.includes(T.region[y * W + x]) || T.z[y * W + x] === Infinity) continue;
        const t = ((x + 0.5) * ax + (y + 0.5) * ay) / al;
        n++;
        if (t < lo) { lo = t; lox = x + 0.5; loy = y + 0.5; }
        if (t > hi) { hi = t; hix = x + 0.5; hiy = y + 0.5; }
      }
    if (n < 3) return;
    const moves: [number, number, number][] = [[a, lox, loy], [b, hix, hiy]];
    for (const [i, x, y] of moves) {
      const ddx = x - P[2 * i], ddy = y - P[2 * i + 1];
      if (Math.hypot(ddx, ddy) > 0.5 * al) continue; // a stray pixel far away: keep the surface point
      P[2 * i] = x; P[2 * i + 1] = y;
      for (const [from, to] of follow) if (from === i) { P[2 * to] += ddx; P[2 * to + 1] += ddy; }
    }
  };
  const eye = [REGION.sclera, REGION.iris, REGION.pupil];
  corners([36, 37, 38, 39, 40, 41], 36, 39, eye, []);
  corners([42, 43, 44, 45, 46, 47], 42, 45, eye, []);
  corners([48, 51, 54, 57], 48, 54, [REGION.lip, REGION.mouth], [[48, 60], [54, 64]]);

  return { P, visible };
}

export function annotate68(f: RenderedFace, rng: Rng, size: number): { points: Float32Array; visible: Uint8Array } {
  const ss = f.ss;
  const { P, visible } = annotatorShape(f);
  // Annotator noise, in units of the face size.
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < 68; i++) { x0 = Math.min(x0, P[2 * i]); x1 = Math.max(x1, P[2 * i]); y0 = Math.min(y0, P[2 * i + 1]); y1 = Math.max(y1, P[2 * i + 1]); }
  const fs = Math.sqrt((x1 - x0) * (y1 - y0));
  const browBias = rng.normal() * 0.012 * fs;
  const out = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    let nx = rng.normal() * 0.009 * fs, ny = rng.normal() * 0.009 * fs;
    if (i <= 16) {
      const a = Math.max(0, i - 1), b = Math.min(16, i + 1);
      const tx = P[2 * b] - P[2 * a], ty = P[2 * b + 1] - P[2 * a + 1], tl = Math.hypot(tx, ty) || 1;
      const along = rng.normal() * 0.025 * fs;
      nx += (tx / tl) * along; ny += (ty / tl) * along;
    }
    if (i >= 17 && i <= 26) ny += browBias;
    out[2 * i] = (P[2 * i] + nx) / ss;
    out[2 * i + 1] = (P[2 * i + 1] + ny) / ss;
  }
  void size;
  return { points: out, visible };
}

// ------------------------------------------------------------------------------------------- image

const DCT = (() => {
  const c = new Float64Array(64);
  for (let k = 0; k < 8; k++) for (let n = 0; n < 8; n++) c[k * 8 + n] = (k === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * n + 1) * k * Math.PI) / 16);
  return c;
})();
// JPEG's standard luminance quantisation table (Annex K), in 0…255 units.
const QY = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];

function blockQuantise(ch: Float32Array, size: number, step: number): void {
  const blk = new Float64Array(64), tmp = new Float64Array(64), div = new Float64Array(64);
  for (let q = 0; q < 64; q++) div[q] = Math.max(1, QY[q] * step); // once per image, not per block
  for (let by = 0; by < size; by += 8)
    for (let bx = 0; bx < size; bx += 8) {
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        const yy = Math.min(size - 1, by + y), xx = Math.min(size - 1, bx + x);
        blk[y * 8 + x] = ch[yy * size + xx] * 255 - 128;
      }
      // forward 2D DCT: rows then columns
      for (let y = 0; y < 8; y++) for (let k = 0; k < 8; k++) { let s = 0; for (let n = 0; n < 8; n++) s += DCT[k * 8 + n] * blk[y * 8 + n]; tmp[y * 8 + k] = s; }
      for (let k = 0; k < 8; k++) for (let x = 0; x < 8; x++) { let s = 0; for (let n = 0; n < 8; n++) s += DCT[k * 8 + n] * tmp[n * 8 + x]; blk[k * 8 + x] = s; }
      for (let q = 0; q < 64; q++) { const d = div[q]; blk[q] = Math.round(blk[q] / d) * d; }
      // inverse
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) { let s = 0; for (let k = 0; k < 8; k++) s += DCT[k * 8 + y] * blk[k * 8 + x]; tmp[y * 8 + x] = s; }
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) { let s = 0; for (let k = 0; k < 8; k++) s += DCT[k * 8 + x] * tmp[y * 8 + k]; blk[y * 8 + x] = s; }
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        const yy = by + y, xx = bx + x;
        if (yy < size && xx < size) ch[yy * size + xx] = (blk[y * 8 + x] + 128) / 255;
      }
    }
}

function blur(ch: Float32Array, size: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2.5 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) { k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma)); s += k[i + r]; }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  // Taps are summed in the same order everywhere; only pixels within r of a border clamp their index.
  const tmp = new Float32Array(ch.length);
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      let a = 0;
      if (x >= r && x + r < size) for (let i = -r, q = row + x - r; i <= r; i++, q++) a += k[i + r] * ch[q];
      else for (let i = -r; i <= r; i++) a += k[i + r] * ch[row + Math.min(size - 1, Math.max(0, x + i))];
      tmp[row + x] = a;
    }
  }
  for (let y = 0; y < size; y++) {
    const inner = y >= r && y + r < size;
    for (let x = 0; x < size; x++) {
      let a = 0;
      if (inner) for (let i = -r, q = (y - r) * size + x; i <= r; i++, q += size) a += k[i + r] * tmp[q];
      else for (let i = -r; i <= r; i++) a += k[i + r] * tmp[Math.min(size - 1, Math.max(0, y + i)) * size + x];
      ch[y * size + x] = a;
    }
  }
}

/** Camera-like degradation of an RGB image (HWC, size²·3), in place order: blur, cast, light, noise, JPEG. */
export function postProcess(img: Float32Array, size: number, rng: Rng, split: Split): Float32Array {
  const n = size * size;
  const planes = [0, 1, 2].map((c) => { const p = new Float32Array(n); for (let i = 0; i < n; i++) p[i] = img[3 * i + c]; return p; });
  const sigma = rng.range(0.35, 1.0) * (size / 64);
  const gains = [rng.clippedNormal(1, 0.1, 0.75, 1.25), rng.clippedNormal(1, 0.06, 0.85, 1.15), rng.clippedNormal(1, 0.1, 0.75, 1.25)];
  const lift = rng.range(0, 0.05);
  const low = rng.chance(split === "challenging" ? 0.6 : 0.3);
  const dark = low ? rng.range(0.22, 0.55) : 1;
  const noise = rng.range(0.006, 0.025) + (low ? rng.range(0.02, 0.05) : 0);
  const quality = rng.range(0.6, 2.2); // quantisation step multiplier (≈ JPEG quality 70 … 25)
  const gamma = rng.range(0.85, 1.15);
  for (let c = 0; c < 3; c++) {
    const p = planes[c];
    blur(p, size, sigma);
    for (let i = 0; i < n; i++) {
      let v = Math.pow(Math.max(0, p[i] * gains[c] * dark), gamma) + lift;
      v += noise * rng.normal();
      p[i] = v;
    }
    blockQuantise(p, size, quality * (c === 1 ? 1 : 1.6));
  }
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = Math.min(1, Math.max(0, planes[c][i]));
  return out;
}
