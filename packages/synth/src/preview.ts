/**
 * Contact sheets: a grid of rendered samples with their landmarks drawn, coloured by group (hollow =
 * flagged invisible). Proxy-real sheets carry a "SIMULATED" banner: that domain is not real data.
 */
import sharp from "sharp";
import { getScheme } from "./scheme";
import { PROXY_REAL_LABEL, renderSample, type FaceParams } from "./render";
import { IBUG68 } from "@lml/core";
import type { Domain, Split } from "./types";

const GROUP_COLOURS: Record<string, [number, number, number]> = {
  jaw: [255, 220, 0], brows: [255, 120, 0], nose: [0, 220, 255], eyes: [0, 255, 90], pupils: [255, 0, 255],
  "outer-lips": [255, 40, 60], "inner-lips": [255, 140, 200],
};

export interface PreviewOptions { domain: Domain; split: Split; scheme: number; count: number; seed: number; size?: number; cell?: number; channels?: 1 | 3; labels?: boolean; edit?: (p: FaceParams) => void }

export async function contactSheet(o: PreviewOptions): Promise<Buffer> {
  const size = o.size ?? 128, cell = o.cell ?? 192, cols = Math.ceil(Math.sqrt(o.count)), rows = Math.ceil(o.count / cols);
  const banner = 28, W = cols * cell, H = rows * cell + banner;
  const px = new Uint8Array(W * H * 3).fill(24);
  const scheme = o.domain === "proxy-real" ? IBUG68 : getScheme(o.scheme);
  const k = cell / size;
  for (let n = 0; n < o.count; n++) {
    const s = renderSample({ domain: o.domain, split: o.split, index: n, seed: o.seed, size, channels: o.channels ?? 3, scheme: o.scheme }, o.edit);
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
  const title = o.domain === "proxy-real" ? `${PROXY_REAL_LABEL} · ${o.split} · 68 annotator-style points` : `synthetic · ${o.split} · ${o.scheme} points`;
  const svg = Buffer.from(`<svg width="${W}" height="${banner}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="${o.domain === "proxy-real" ? "#7a1010" : "#202830"}"/><text x="8" y="19" font-family="sans-serif" font-size="15" fill="white">${title} · seed ${o.seed}</text></svg>`);
  return sharp(Buffer.from(px), { raw: { width: W, height: H, channels: 3 } }).composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer();
}
