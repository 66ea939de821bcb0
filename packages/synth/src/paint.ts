/**
 * 2D painting around the rendered head: textured backgrounds and occluders (a hand, a bar-like object,
 * strands of hair, glasses). Occluders are drawn over the head and recorded in a mask, so landmarks under
 * them are flagged invisible.
 */
import type { Rng } from "./rng";
import type { Target } from "./raster";
import type { FaceCrop as Crop } from "@lml/core";

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
      out.push({ kind: "strands", anchor: [19, 24, 27][rng.int(3)], n: 2 + rng.int(4), spread: rng.range(0.1, 0.3), len: rng.range(0.3, 0.7), thick: rng.range(0.006, 0.014), bend: rng.normal() * 0.15, color: hair.map((c) => c * rng.range(0.8, 1.2)), seeds: Array.from({ length: 8 }, () => rng.next()) });
    } else {
      out.push({ kind: "glasses", thick: rng.range(0.008, 0.022), color: rng.chance(0.6) ? [0.05, 0.05, 0.06] : [rng.next(), rng.next(), rng.next()], tint: rng.chance(0.3) ? [0.5, 0.5, 0.55] : [0.95, 0.95, 0.97], scale: rng.range(0.95, 1.25) });
    }
  }
  return out;
}

const smooth = (t: number) => t * t * (3 - 2 * t);

/**
 * What surrounds the head: a background like a photographed scene (fractal value noise over a few colours
 * of one natural family — foliage, sky, wall, indoor, night — optionally with straight edges of walls,
 * doors and windows, a light gradient and out-of-focus blobs), clothed shoulders, and for some faces long
 * hair falling behind the head to the shoulders.
 */
export interface Scene {
  colours: number[][];
  octaves: { g: number; amp: number; grid: Float32Array }[];
  gradient: { angle: number; amount: number };
  edges: { vertical: boolean; at: number; shade: number }[];
  blobs: { x: number; y: number; r: number; c: number[] }[];
  clothes: { colour: number[]; width: number; drop: number; collar: number; texture: number } | null;
  longHair: { width: number; length: number } | null;
  /** Hair volume standing off the skull (fraction of the face height), 0 for none. */
  volume: number;
}

const FAMILIES: number[][][] = [
  [[0.16, 0.22, 0.1], [0.35, 0.45, 0.2], [0.55, 0.6, 0.35], [0.1, 0.12, 0.08]], // foliage
  [[0.55, 0.7, 0.88], [0.8, 0.86, 0.92], [0.42, 0.55, 0.75], [0.95, 0.95, 0.95]], // sky
  [[0.75, 0.72, 0.66], [0.62, 0.58, 0.52], [0.86, 0.84, 0.8], [0.45, 0.42, 0.38]], // wall, plaster
  [[0.3, 0.22, 0.16], [0.52, 0.4, 0.3], [0.2, 0.16, 0.13], [0.7, 0.6, 0.48]], // indoor, wood
  [[0.05, 0.05, 0.07], [0.12, 0.11, 0.14], [0.25, 0.2, 0.18], [0.02, 0.02, 0.03]], // night, dark studio
  [[0.5, 0.5, 0.52], [0.3, 0.3, 0.32], [0.7, 0.7, 0.72], [0.15, 0.15, 0.16]], // grey, concrete
];

export function sampleScene(rng: Rng, hair: number[], longHairChance: number): Scene {
  const fam = FAMILIES[[0, 1, 2, 2, 3, 3, 4, 5][rng.int(8)]]; // walls and rooms more often than night
  const tint = [rng.range(0.85, 1.15), rng.range(0.9, 1.1), rng.range(0.85, 1.15)];
  const colours = [0, 1, 2].map(() => fam[rng.int(fam.length)].map((c, k) => Math.min(1, c * tint[k] * rng.range(0.8, 1.2))));
  if (rng.chance(0.2)) colours[rng.int(3)] = [rng.next(), rng.next(), rng.next()]; // something man-made
  const g0 = 2 + rng.int(4);
  const octaves = [0, 1, 2].map((o) => {
    const g = g0 << o;
    return { g, amp: Math.pow(rng.range(0.35, 0.65), o), grid: new Float32Array((g + 1) * (g + 1)).map(() => rng.next()) };
  });
  const gradient = { angle: rng.range(0, 2 * Math.PI), amount: rng.range(0, 0.5) };
  const edges = Array.from({ length: rng.chance(0.45) ? 1 + rng.int(3) : 0 }, () => ({ vertical: rng.chance(0.7), at: rng.next(), shade: rng.range(0.6, 1.4) }));
  const blobs = Array.from({ length: rng.chance(0.3) ? 2 + rng.int(5) : 0 }, () => ({ x: rng.next(), y: rng.next(), r: rng.range(0.03, 0.12), c: [rng.range(0.6, 1), rng.range(0.5, 1), rng.range(0.4, 1)] }));
  const clothes = rng.chance(0.92)
    ? { colour: rng.chance(0.5) ? [0.06, 0.06, 0.07].map((c) => c * rng.range(0.7, 3)) : [rng.next(), rng.next(), rng.next()].map((c) => 0.1 + 0.8 * c), width: rng.range(1.6, 2.3), drop: rng.range(0.15, 0.45), collar: rng.range(0.15, 0.5), texture: rng.range(0, 0.25) }
    : null;
  void hair;
  const longHair = rng.chance(longHairChance) ? { width: rng.range(1.1, 1.45), length: rng.range(0.6, 1.6) } : null;
  const volume = rng.chance(0.8) ? rng.range(0.03, 0.14) : 0;
  return { colours, octaves, gradient, edges, blobs, clothes, longHair, volume };
}

/** Where the face sits in the target (pixels): the 68-box centre, half-width and height, and the chin's y. */
export interface FaceFrame { cx: number; cy: number; hw: number; h: number; chinY: number; topY: number }

/**
 * Paints everything behind the head into the pixels it left empty, and clothes over the neck below the
 * collar (call after rasterising the head, before occluders).
 */
export function drawScene(T: Target, sc: Scene, f: FaceFrame, hairColour: number[], hairAmp: number, rng: Rng): void {
  const { w, h, rgb, z, region, face } = T;
  // hair volume: the rendered hair (region 2) grown outwards into the empty surround above the ears, by an
  // octagon (a square of 0.7·r united with a cross of r, both separable max filters: no boxy corners)
  const grow = Math.round(sc.volume * f.h);
  let vol: Uint8Array | null = null;
  if (grow > 0) {
    const m = new Uint8Array(w * h);
    for (let p = 0; p < w * h; p++) m[p] = region[p] === 2 ? 1 : 0;
    // 1-D dilation by r along rows or columns in two sweeps (distance to the last "on" pixel each way)
    const along = (src: Uint8Array, r: number, horizontal: boolean) => {
      const out = new Uint8Array(w * h);
      const lines = horizontal ? h : w, len = horizontal ? w : h, step = horizontal ? 1 : w;
      for (let l = 0; l < lines; l++) {
        const o = horizontal ? l * w : l;
        let last = -1e9;
        for (let k = 0; k < len; k++) { if (src[o + k * step]) last = k; if (k - last <= r) out[o + k * step] = 1; }
        last = 1e9;
        for (let k = len - 1; k >= 0; k--) { if (src[o + k * step]) last = k; if (last - k <= r) out[o + k * step] = 1; }
      }
      return out;
    };
    const r2 = Math.max(1, Math.round(0.7 * grow));
    const sq = along(along(m, r2, true), r2, false), hx = along(m, grow, true), vy = along(m, grow, false);
    vol = new Uint8Array(w * h);
    const ear = f.cy - 0.05 * f.h;
    for (let y = 0; y < Math.min(h, ear); y++) for (let x = 0; x < w; x++) { const p = y * w + x; vol[p] = sq[p] | hx[p] | vy[p]; }
  }
  const ca = Math.cos(sc.gradient.angle), sa = Math.sin(sc.gradient.angle);
  const [c0, c1, c2] = sc.colours;
  const collarY = f.chinY + (0.04 + 0.3 * (sc.clothes ? sc.clothes.drop : 0)) * f.h;
  for (let y = 0; y < h; y++) {
    const fy = y / h;
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const fx = x / w;
      const empty = z[p] === Infinity;
      // clothes: shoulders widening below the neck; in front of the neck under the collar
      if (sc.clothes) {
        const dy = y - collarY;
        if (dy > 0) {
          const half = f.hw * (0.5 + Math.min(sc.clothes.width, 0.35 + dy / (0.1 * f.h)));
          const dx = Math.abs(x - f.cx);
          const vneck = dx < sc.clothes.collar * f.hw * (1 - dy / (0.5 * f.h)) && region[p] === 1 && face[p] === 0;
          if (dx < half && (empty || (region[p] === 1 && face[p] === 0 && !vneck))) {
            const fold = 0.85 + 0.15 * Math.sin(x * 0.21 + y * 0.05) * sc.clothes.texture * 4 - 0.25 * (dx / half) ** 2;
            const o = 3 * p;
            rgb[o] = sc.clothes.colour[0] * fold; rgb[o + 1] = sc.clothes.colour[1] * fold; rgb[o + 2] = sc.clothes.colour[2] * fold;
            z[p] = 1e9;
            region[p] = 254;
            continue;
          }
        }
      }
      if (!empty) continue;
      if (vol && vol[p]) {
        const strand = 0.7 + hairAmp * 0.3 * Math.sin(x * 1.3 + Math.sin(y * 0.2) * 3) + 0.15 * (rng.next() - 0.5);
        const o = 3 * p;
        rgb[o] = hairColour[0] * strand; rgb[o + 1] = hairColour[1] * strand; rgb[o + 2] = hairColour[2] * strand;
        z[p] = 1e9;
        region[p] = 253;
        continue;
      }
      // long hair behind the head, down to the shoulders
      if (sc.longHair) {
        const dx = (x - f.cx) / (f.hw * sc.longHair.width), top = f.topY - 0.05 * f.h;
        const bottom = f.chinY + sc.longHair.length * 0.5 * f.h;
        if (y > top && y < bottom && Math.abs(dx) < 1.05 - 0.25 * Math.max(0, (y - f.chinY) / f.h)) {
          const cap = y < f.cy - 0.2 * f.h ? Math.hypot(dx, (y - (f.cy - 0.2 * f.h)) / (f.cy - 0.2 * f.h - top)) < 1 : true;
          if (cap) {
            const strand = 0.8 + hairAmp * 0.3 * Math.sin(x * 1.3 + Math.sin(y * 0.11 + x * 0.05) * 4) + 0.12 * (rng.next() - 0.5);
            const shade = 0.55 + 0.45 * (1 - Math.abs(dx));
            const o = 3 * p;
            rgb[o] = hairColour[0] * strand * shade; rgb[o + 1] = hairColour[1] * strand * shade; rgb[o + 2] = hairColour[2] * strand * shade;
            z[p] = 1e9;
            region[p] = 253;
            continue;
          }
        }
      }
      let n = 0;
      for (const oc of sc.octaves) {
        const gx = fx * oc.g, gy = fy * oc.g;
        const ix = Math.min(oc.g - 1, Math.floor(gx)), iy = Math.min(oc.g - 1, Math.floor(gy));
        const sx = smooth(gx - ix), sy = smooth(gy - iy), g1 = oc.g + 1, G = oc.grid;
        const a = G[iy * g1 + ix], b = G[iy * g1 + ix + 1], c = G[(iy + 1) * g1 + ix], d = G[(iy + 1) * g1 + ix + 1];
        n += oc.amp * ((a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy);
      }
      n /= 1.45;
      let k = 1 + sc.gradient.amount * ((fx - 0.5) * ca + (fy - 0.5) * sa);
      for (const e of sc.edges) if ((e.vertical ? fx : fy) > e.at) k *= e.shade;
      const t1 = Math.min(1, Math.max(0, n * 1.6 - 0.3)), t2 = Math.min(1, Math.max(0, n * 2 - 1));
      const o = 3 * p;
      for (let ch = 0; ch < 3; ch++) {
        let v = c0[ch] + (c1[ch] - c0[ch]) * t1;
        v += (c2[ch] - v) * t2 * 0.6;
        rgb[o + ch] = v * k;
      }
      for (const bl of sc.blobs) {
        const d2 = ((fx - bl.x) ** 2 + (fy - bl.y) ** 2) / (bl.r * bl.r);
        if (d2 < 1) for (let ch = 0; ch < 3; ch++) rgb[o + ch] += (bl.c[ch] - rgb[o + ch]) * 0.5 * (1 - d2);
      }
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
          const nx = x0 + o.bend * S * Math.sin(t * 1.2 + r0 * 6) * t + (r0 - 0.5) * 0.1 * S * t;
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
