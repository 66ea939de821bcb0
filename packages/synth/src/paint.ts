/**
 * 2D painting around the rendered head: textured backgrounds and occluders (a hand, a bar-like object,
 * strands of hair, glasses). Occluders are drawn over the head and recorded in a mask, so landmarks under
 * them are flagged invisible.
 */
import type { Rng } from "./rng";
import type { Target } from "./raster";
import type { Crop } from "./camera";

export type Occluder =
  | { kind: "hand"; anchor: number; dx: number; dy: number; r: number; angle: number; color: number[] }
  | { kind: "bar"; anchor: number; dx: number; dy: number; len: number; thick: number; angle: number; color: number[]; stripes: number }
  | { kind: "strands"; anchor: number; n: number; spread: number; len: number; thick: number; bend: number; color: number[]; seeds: number[] }
  | { kind: "glasses"; thick: number; color: number[]; tint: number[]; scale: number };

export function sampleOccluders(rng: Rng, p: number, skin: number[], hair: number[]): Occluder[] {
  const out: Occluder[] = [];
  const count = rng.chance(p) ? (rng.chance(p * 0.4) ? 2 : 1) : 0;
  for (let i = 0; i < count; i++) {
    const kind = rng.int(4);
    if (kind === 0) {
      out.push({ kind: "hand", anchor: [8, 48, 54, 3, 13, 30, 2, 14][rng.int(8)], dx: rng.normal() * 0.05, dy: rng.normal() * 0.05, r: rng.range(0.11, 0.19), angle: rng.range(0, 2 * Math.PI), color: skin.map((c) => c * rng.range(0.85, 1.1)) });
    } else if (kind === 1) {
      out.push({ kind: "bar", anchor: [30, 57, 8, 36, 45, 33][rng.int(6)], dx: rng.normal() * 0.06, dy: rng.normal() * 0.06, len: rng.range(0.4, 1.2), thick: rng.range(0.05, 0.14), angle: rng.range(0, Math.PI), color: [rng.next(), rng.next(), rng.next()], stripes: rng.chance(0.5) ? rng.range(10, 40) : 0 });
    } else if (kind === 2) {
      out.push({ kind: "strands", anchor: [19, 24, 27][rng.int(3)], n: 3 + rng.int(6), spread: rng.range(0.1, 0.3), len: rng.range(0.3, 0.7), thick: rng.range(0.012, 0.03), bend: rng.normal() * 0.15, color: hair.map((c) => c * rng.range(0.8, 1.2)), seeds: Array.from({ length: 8 }, () => rng.next()) });
    } else {
      out.push({ kind: "glasses", thick: rng.range(0.008, 0.022), color: rng.chance(0.6) ? [0.05, 0.05, 0.06] : [rng.next(), rng.next(), rng.next()], tint: rng.chance(0.3) ? [0.5, 0.5, 0.55] : [0.95, 0.95, 0.97], scale: rng.range(0.95, 1.25) });
    }
  }
  return out;
}

const smooth = (t: number) => t * t * (3 - 2 * t);

/** Paints the background where the head left the target empty (call it after rasterising the head). */
export function drawBackground(T: Target, bg: { kind: number; c1: number[]; c2: number[]; freq: number; angle: number; grid: Float32Array; g: number }): void {
  const { w, h, rgb, z } = T;
  const { g, grid, c1, c2 } = bg;
  const ca = Math.cos(bg.angle), sa = Math.sin(bg.angle);
  const fq = (bg.freq * 2 * Math.PI) / w;
  for (let y = 0; y < h; y++) {
    const gy = (y / h) * g, iy = Math.min(g - 1, Math.floor(gy)), fy = smooth(gy - iy);
    for (let x = 0; x < w; x++) {
      if (z[y * w + x] !== Infinity) continue; // the head covers it
      const gx = (x / w) * g, ix = Math.min(g - 1, Math.floor(gx)), fx = smooth(gx - ix);
      const a = grid[iy * (g + 1) + ix], b = grid[iy * (g + 1) + ix + 1], c = grid[(iy + 1) * (g + 1) + ix], d = grid[(iy + 1) * (g + 1) + ix + 1];
      const n = (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
      let t: number;
      switch (bg.kind) {
        case 1: t = 0.5 + 0.5 * Math.sin(fq * (x * ca + y * sa)) * (0.4 + 0.6 * n); break;
        case 2: t = (((Math.floor((x * ca + y * sa) * fq * 0.3) + Math.floor((y * ca - x * sa) * fq * 0.3)) & 1) * 0.6 + 0.4 * n); break;
        case 3: t = 0.6 * (y / h) + 0.4 * n; break;
        default: t = n;
      }
      const o = 3 * (y * w + x);
      rgb[o] = c1[0] + (c2[0] - c1[0]) * t;
      rgb[o + 1] = c1[1] + (c2[1] - c1[1]) * t;
      rgb[o + 2] = c1[2] + (c2[2] - c1[2]) * t;
    }
  }
}

type Pts = { u: Float32Array; v: Float32Array };

/** Paints the occluders; returns the coverage mask (1 = opaque occluder pixel). */
export function drawOccluders(T: Target, occ: Occluder[], pts68: Pts, crop: Crop, k: number, rng: Rng): Uint8Array {
  const mask = new Uint8Array(T.w * T.h);
  if (occ.length === 0) return mask;
  void rng;
  const S = T.w; // crop side in target pixels
  const P = (i: number) => [(pts68.u[i] - crop.x0) * k, (pts68.v[i] - crop.y0) * k];
  for (const o of occ) {
    if (o.kind === "hand") {
      const [ax, ay] = P(o.anchor);
      const cx = ax + o.dx * S, cy = ay + o.dy * S, r = o.r * S;
      const ux = Math.cos(o.angle), uy = Math.sin(o.angle);
      ellipse(T, mask, cx, cy, r, r * 1.15, o.angle, o.color, 1);
      for (let f = 0; f < 4; f++) {
        const off = (f - 1.5) * r * 0.45;
        const bx = cx + ux * r * 0.6 - uy * off, by = cy + uy * r * 0.6 + ux * off;
        const len = r * (1.1 + 0.25 * Math.cos(f));
        capsule(T, mask, bx, by, bx + ux * len, by + uy * len, r * 0.2, o.color, 1);
      }
      const tx = cx - uy * r * 0.9, ty = cy + ux * r * 0.9;
      capsule(T, mask, tx, ty, tx + (ux - uy) * r * 0.7, ty + (uy + ux) * r * 0.7, r * 0.22, o.color, 1);
    } else if (o.kind === "bar") {
      const [ax, ay] = P(o.anchor);
      const cx = ax + o.dx * S, cy = ay + o.dy * S, hl = (o.len * S) / 2;
      const ux = Math.cos(o.angle), uy = Math.sin(o.angle);
      capsule(T, mask, cx - ux * hl, cy - uy * hl, cx + ux * hl, cy + uy * hl, (o.thick * S) / 2, o.color, 1, o.stripes / S);
    } else if (o.kind === "strands") {
      const [ax, ay] = P(o.anchor);
      for (let s = 0; s < o.n; s++) {
        const r0 = o.seeds[s % o.seeds.length];
        const x0 = ax + (r0 - 0.5) * o.spread * S * 2, y0 = ay - 0.15 * S;
        let px = x0, py = y0;
        const steps = 8;
        for (let q = 1; q <= steps; q++) {
          const t = q / steps;
          const nx = x0 + o.bend * S * Math.sin(t * 2 + r0 * 6) + (r0 - 0.5) * 0.1 * S * t;
          const ny = y0 + o.len * S * t;
          capsule(T, mask, px, py, nx, ny, (o.thick * S) / 2, o.color, 1);
          px = nx; py = ny;
        }
      }
    } else {
      // glasses: rims around the eyes, a bridge and temples; lenses tint but do not hide the eyes
      const eyes = [[36, 39], [42, 45]].map(([a, b]) => {
        const [x1, y1] = P(a), [x2, y2] = P(b);
        return { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2 + 0.01 * S, rx: (Math.hypot(x2 - x1, y2 - y1) / 2) * 1.55 * o.scale, ang: Math.atan2(y2 - y1, x2 - x1) };
      });
      const th = o.thick * S;
      for (const e of eyes) {
        tintEllipse(T, e.cx, e.cy, e.rx, e.rx * 0.72, e.ang, o.tint);
        ring(T, mask, e.cx, e.cy, e.rx, e.rx * 0.72, e.ang, th, o.color);
      }
      const [l, r] = eyes;
      capsule(T, mask, l.cx + l.rx * Math.cos(l.ang), l.cy + l.rx * Math.sin(l.ang), r.cx - r.rx * Math.cos(r.ang), r.cy - r.rx * Math.sin(r.ang), th / 2, o.color, 1);
      const [jx0, jy0] = P(0), [jx1, jy1] = P(16);
      capsule(T, mask, l.cx - l.rx * Math.cos(l.ang), l.cy - l.rx * Math.sin(l.ang), jx0, jy0 - 0.02 * S, th / 2, o.color, 1);
      capsule(T, mask, r.cx + r.rx * Math.cos(r.ang), r.cy + r.rx * Math.sin(r.ang), jx1, jy1 - 0.02 * S, th / 2, o.color, 1);
    }
  }
  return mask;
}

function put(T: Target, mask: Uint8Array, p: number, c: number[], shade: number): void {
  T.rgb[3 * p] = c[0] * shade; T.rgb[3 * p + 1] = c[1] * shade; T.rgb[3 * p + 2] = c[2] * shade;
  mask[p] = 1;
}

function bounds(T: Target, x0: number, y0: number, x1: number, y1: number) {
  return [Math.max(0, Math.floor(x0)), Math.max(0, Math.floor(y0)), Math.min(T.w - 1, Math.ceil(x1)), Math.min(T.h - 1, Math.ceil(y1))];
}

function ellipse(T: Target, mask: Uint8Array, cx: number, cy: number, rx: number, ry: number, ang: number, c: number[], light: number): void {
  const ca = Math.cos(ang), sa = Math.sin(ang), R = Math.max(rx, ry);
  const [x0, y0, x1, y1] = bounds(T, cx - R, cy - R, cx + R, cy + R);
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const a = (dx * ca + dy * sa) / rx, b = (-dx * sa + dy * ca) / ry;
      const q = a * a + b * b;
      if (q <= 1) put(T, mask, y * T.w + x, c, light * (0.6 + 0.45 * Math.sqrt(1 - q) - 0.1 * b));
    }
}

function capsule(T: Target, mask: Uint8Array, ax: number, ay: number, bx: number, by: number, r: number, c: number[], light: number, stripes = 0): void {
  const [x0, y0, x1, y1] = bounds(T, Math.min(ax, bx) - r, Math.min(ay, by) - r, Math.max(ax, bx) + r, Math.max(ay, by) + r);
  const ex = bx - ax, ey = by - ay, l2 = ex * ex + ey * ey || 1;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - ax, py = y + 0.5 - ay;
      const h = Math.min(1, Math.max(0, (px * ex + py * ey) / l2));
      const dx = px - ex * h, dy = py - ey * h;
      const d2 = dx * dx + dy * dy;
      if (d2 <= r * r) {
        let s = light * (0.55 + 0.5 * Math.sqrt(1 - d2 / (r * r)));
        if (stripes > 0) s *= 0.75 + 0.25 * Math.sign(Math.sin(h * Math.sqrt(l2) * stripes * 6.283));
        put(T, mask, y * T.w + x, c, s);
      }
    }
}

function ring(T: Target, mask: Uint8Array, cx: number, cy: number, rx: number, ry: number, ang: number, th: number, c: number[]): void {
  const ca = Math.cos(ang), sa = Math.sin(ang), R = Math.max(rx, ry) + th;
  const [x0, y0, x1, y1] = bounds(T, cx - R, cy - R, cx + R, cy + R);
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const a = dx * ca + dy * sa, b = -dx * sa + dy * ca;
      const qo = (a / (rx + th / 2)) ** 2 + (b / (ry + th / 2)) ** 2, qi = (a / (rx - th / 2)) ** 2 + (b / (ry - th / 2)) ** 2;
      if (qo <= 1 && qi >= 1) put(T, mask, y * T.w + x, c, 0.9);
    }
}

function tintEllipse(T: Target, cx: number, cy: number, rx: number, ry: number, ang: number, tint: number[]): void {
  const ca = Math.cos(ang), sa = Math.sin(ang), R = Math.max(rx, ry);
  const [x0, y0, x1, y1] = bounds(T, cx - R, cy - R, cx + R, cy + R);
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const a = (dx * ca + dy * sa) / rx, b = (-dx * sa + dy * ca) / ry;
      if (a * a + b * b <= 1) {
        const o = 3 * (y * T.w + x);
        T.rgb[o] *= tint[0]; T.rgb[o + 1] *= tint[1]; T.rgb[o + 2] *= tint[2];
      }
    }
}
