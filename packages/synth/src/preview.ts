/**
 * Contact sheets: a grid of rendered samples with their landmarks drawn, coloured by group (hollow =
 * flagged invisible). Proxy-real sheets carry a "SIMULATED" banner: that domain is not real data.
 * A "300w" sheet lays out real crops (read at run time from a 300-W folder, framed by the same rule)
 * in the same size and layout, for a side-by-side look; it is written where the user asks, never kept.
 */
import sharp from "sharp";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { getScheme } from "./scheme";
import { PROXY_REAL_LABEL, renderSample, type FaceParams } from "./render";
import { FACE_CROP_MARGIN, IBUG68, UsageError, list300W, loadFace } from "@lml/core";
import type { FaceModelChoice } from "./face-model";
import type { Domain, Split } from "./types";

const GROUP_COLOURS: Record<string, [number, number, number]> = {
  jaw: [255, 220, 0], brows: [255, 120, 0], nose: [0, 220, 255], eyes: [0, 255, 90], pupils: [255, 0, 255],
  "outer-lips": [255, 40, 60], "inner-lips": [255, 140, 200],
};

export interface PreviewOptions {
  domain: Domain | "300w";
  split: Split | string;
  scheme: number;
  count: number;
  seed: number;
  size?: number;
  cell?: number;
  channels?: 1 | 3;
  labels?: boolean;
  faceModel?: FaceModelChoice;
  /** "300w": the dataset folder (its `split` sub-folder is used when present). */
  dir?: string;
  edit?: (p: FaceParams) => void;
}

/** `count` real faces of a 300-W folder, spread evenly over its (name-ordered) list, shifted by the seed. */
async function realFaces(o: PreviewOptions, size: number): Promise<{ image: Float32Array; landmarks: Float32Array; visible: Uint8Array }[]> {
  const root = o.dir ?? join(process.cwd(), "..", "shared", "datasets", "300w128");
  const dir = existsSync(join(root, o.split)) ? join(root, o.split) : root;
  const all = await list300W(dir);
  if (all.length === 0) throw new UsageError(`${dir}: no 300-W faces (image + .pts pairs)`);
  const step = all.length / o.count;
  const picks = Array.from({ length: Math.min(o.count, all.length) }, (_, k) => all[Math.floor((k * step + (o.seed * 7919) % Math.max(1, Math.floor(step))) % all.length)]);
  const out = [];
  for (const e of picks) {
    const f = await loadFace(e, { inputSize: size, channels: o.channels ?? 3, margin: FACE_CROP_MARGIN });
    out.push({ image: f.image, landmarks: f.landmarks, visible: new Uint8Array(68).fill(1) });
  }
  return out;
}

export async function contactSheet(o: PreviewOptions): Promise<Buffer> {
  const size = o.size ?? 128, cell = o.cell ?? 192, cols = Math.ceil(Math.sqrt(o.count)), rows = Math.ceil(o.count / cols);
  const banner = 28, W = cols * cell, H = rows * cell + banner;
  const px = new Uint8Array(W * H * 3).fill(24);
  const real = o.domain === "300w" ? await realFaces(o, size) : null;
  const scheme = o.domain !== "synthetic" ? IBUG68 : getScheme(o.scheme, o.faceModel);
  const k = cell / size;
  for (let n = 0; n < o.count; n++) {
    const s = real ? real[n % real.length] : renderSample({ domain: o.domain as Domain, split: o.split as Split, index: n, seed: o.seed, size, channels: o.channels ?? 3, scheme: o.scheme, faceModel: o.faceModel }, o.edit);
    const ox = (n % cols) * cell, oy = Math.floor(n / cols) * cell + banner;
    const ch = s.image.length / (size * size);
    for (let y = 0; y < cell; y++)
      for (let x = 0; x < cell; x++) {
        const sx = Math.min(size - 1, Math.floor(x / k)), sy = Math.min(size - 1, Math.floor(y / k));
        const q = (sy * size + sx) * ch, o3 = ((oy + y) * W + ox + x) * 3;
        for (let c = 0; c < 3; c++) px[o3 + c] = Math.round(255 * s.image[q + (ch === 3 ? c : 0)]);
      }
    if (o.labels === false) continue;
    const r = scheme.count > 300 ? 1 : 2;
    for (let i = 0; i < scheme.count; i++) {
      const col = GROUP_COLOURS[scheme.groups[i]] ?? [255, 255, 255];
      const cx = ox + s.landmarks[2 * i] * k, cy = oy + s.landmarks[2 * i + 1] * k;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const d2 = dx * dx + dy * dy;
          if (d2 > r * r + 1) continue;
          if (!s.visible[i] && d2 < r * r - 1 && r > 1) continue; // hollow = invisible
          const x = Math.round(cx) + dx, y = Math.round(cy) + dy;
          if (x < ox || y < oy || x >= ox + cell || y >= oy + cell) continue;
          const o3 = (y * W + x) * 3;
          const dim = s.visible[i] ? 1 : 0.45;
          px[o3] = col[0] * dim; px[o3 + 1] = col[1] * dim; px[o3 + 2] = col[2] * dim;
        }
    }
  }
  const title =
    o.domain === "proxy-real" ? `${PROXY_REAL_LABEL} · ${o.split} · 68 annotator-style points`
    : o.domain === "300w" ? `300-W real photos (research use only) · ${o.split} · 68 annotated points`
    : `synthetic · ${o.split} · ${o.scheme} points`;
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const svg = Buffer.from(`<svg width="${W}" height="${banner}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="${o.domain === "proxy-real" ? "#7a1010" : o.domain === "300w" ? "#104a20" : "#202830"}"/><text x="8" y="19" font-family="sans-serif" font-size="15" fill="white">${esc(title)} · seed ${o.seed}</text></svg>`);
  return sharp(Buffer.from(px), { raw: { width: W, height: H, channels: 3 } }).composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer();
}
