/**
 * The simulated "proxy-real" domain (a stand-in for 300-W; NOT real data): 68 labels placed the way 300-W
 * annotators place them (the jaw on the visible face outline, as the renderer places it for both domains;
 * eye and mouth corners where the eye opening / lips visibly end), then annotator noise (more along the jaw
 * outline than across it, plus a per-image bias on the brows). Its images go through a harsher camera
 * (look.ts). Its challenging split keeps |yaw| ≤ 50° like 300-W's annotated faces: beyond that the far
 * eye is hidden and inter-pupil NME means nothing.
 */
import { REGION } from "./atlas";
import type { RenderedFace } from "./render";
import type { Rng } from "./rng";

/** Annotator-style points in target pixels, before annotator noise (what the outline test checks). */
export function annotatorShape(f: RenderedFace): { P: Float64Array; visible: Uint8Array } {
  const T = f.target, ss = f.ss, W = T.w;
  const P = new Float64Array(136);
  for (let i = 0; i < 136; i++) P[i] = f.points68[i] * ss;
  const visible = Uint8Array.from(f.visible68);

  // The jaw is already on the visible face outline (the renderer marches it for every pose, contour.ts).

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

