/**
 * The camera: what turns a clean render into something that looks photographed, for both domains
 * (domain randomisation for the synthetic one, a harsher, fixed-style camera for the simulated proxy-real
 * one). In order: exposure and white balance, contrast/gamma, saturation (a few black-and-white photos),
 * vignetting, defocus blur, sensor noise, 8×8 DCT quantisation (JPEG-like blocking), and black bands
 * where a crop ran past the photo's edge (as 300-W crops near the border are padded).
 */
import type { Rng } from "./rng";
import type { Domain, Split } from "./types";

export interface Look {
  gains: number[];
  gamma: number;
  contrast: number;
  saturation: number;
  sepia: number;
  vignette: number;
  blur: number;
  noise: number;
  /** JPEG quantisation step multiplier (0 = none). */
  jpeg: number;
  /** Black bands: fractions of the side cut on each edge (left, top, right, bottom). */
  pad: number[];
}

/** Draws the camera of one image (fixed order of draws). */
export function sampleLook(rng: Rng, domain: Domain, split: Split): Look {
  const proxy = domain === "proxy-real";
  const low = rng.chance(proxy ? (split === "challenging" ? 0.5 : 0.25) : 0.08);
  // (exposure calibrated so the synthetic domain's mean colour and luminance histogram come near 300-W's: stats.ts)
  const expo = low ? rng.range(0.5, 0.8) : rng.range(0.9, 1.2);
  const cast = proxy ? 0.1 : 0.06;
  // photographs lean warm (300-W's mean colour is redder than a neutral render)
  const gains = [expo * rng.clippedNormal(1.05, cast, 0.8, 1.25), expo * rng.clippedNormal(0.98, cast * 0.5, 0.88, 1.1), expo * rng.clippedNormal(0.93, cast, 0.75, 1.15)];
  const gamma = rng.range(0.85, 1.2);
  const contrast = rng.range(0.8, 1.15);
  const bw = rng.chance(0.05);
  const saturation = bw ? 0 : rng.range(0.65, 1.15);
  const sepia = bw && rng.chance(0.3) ? rng.range(0.3, 0.8) : 0;
  const vignette = rng.range(0, 0.35);
  const blur = proxy ? rng.range(0.4, 1.0) : rng.range(0.15, 0.85);
  const noise = rng.range(0.003, 0.018) + (low ? rng.range(0.01, 0.035) : 0);
  const jpeg = rng.chance(proxy ? 1 : 0.8) ? (proxy ? rng.range(0.6, 2.2) : rng.range(0.25, 1.4)) : 0;
  const pad = [0, 0, 0, 0];
  if (rng.chance(0.18)) {
    const side = rng.int(4);
    pad[side] = rng.range(0.03, 0.3);
    if (rng.chance(0.35)) pad[(side + 1 + rng.int(3)) % 4] = rng.range(0.03, 0.2);
  }
  return { gains, gamma, contrast, saturation, sepia, vignette, blur, noise, jpeg, pad };
}

/**
 * Applies a camera to an RGB image (HWC, size²·3, the clean render in 0…1), returns a new image with
 * `channels` channels. A grayscale camera works on luminance only (a third of the work; saturation and
 * sepia do not apply), the same steps otherwise.
 */
export function applyLook(img: Float32Array, size: number, look: Look, rng: Rng, channels: 1 | 3 = 3): Float32Array {
  if (channels === 1) return applyLookGray(img, size, look, rng);
  const n = size * size;
  const planes = [0, 1, 2].map((c) => { const p = new Float32Array(n); for (let i = 0; i < n; i++) p[i] = img[3 * i + c]; return p; });
  const sigma = look.blur * (size / 128);
  if (sigma > 0.2) for (const p of planes) blur(p, size, sigma);
  // tone curve (gamma, then an S-curve round mid grey) as a table: one lookup instead of pow per value
  const curve = toneTable(look);
  const c0 = size / 2;
  const invR2 = 1 / (c0 * c0 * 2);
  const [gr, gg, gb] = look.gains, sat = look.saturation, sep = look.sepia, nz = look.noise;
  for (let i = 0; i < n; i++) {
    const x = (i % size) + 0.5 - c0, y = Math.floor(i / size) + 0.5 - c0;
    const vig = 1 - look.vignette * (x * x + y * y) * invR2;
    let r = curve(planes[0][i] * gr * vig), g = curve(planes[1][i] * gg * vig), b = curve(planes[2][i] * gb * vig);
    const l = 0.299 * r + 0.587 * g + 0.114 * b;
    r = l + (r - l) * sat; g = l + (g - l) * sat; b = l + (b - l) * sat;
    if (sep > 0) { r += sep * (l * 1.07 - r); g += sep * (l * 0.95 - g); b += sep * (l * 0.78 - b); }
    // sensor noise, mostly luminance: three 10-bit uniforms from one draw, summed (close to Gaussian)
    const u = rng.u32();
    const nl = nz * (((u & 1023) + ((u >>> 10) & 1023) + ((u >>> 20) & 1023)) / 1023 - 1.5) * 2;
    const ch = nz * 0.2 * (((u >>> 30) & 3) / 3 - 0.5);
    planes[0][i] = r + nl + ch;
    planes[1][i] = g + nl;
    planes[2][i] = b + nl - ch;
  }
  // black where the crop left the photo, before the JPEG (as the real crops were padded, then saved)
  const [pl, pt, pr, pb] = look.pad.map((f) => Math.round(f * size));
  if (pl + pt + pr + pb > 0)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        if (x < pl || y < pt || x >= size - pr || y >= size - pb) for (let c = 0; c < 3; c++) planes[c][y * size + x] = 0;
  if (look.jpeg > 0) jpeg(planes, size, look.jpeg);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = Math.min(1, Math.max(0, planes[c][i]));
  return out;
}

function toneTable(look: Look): (x: number) => number {
  const TN = 256, TMAX = 2;
  const tone = new Float32Array(TN + 1);
  for (let q = 0; q <= TN; q++) tone[q] = 0.5 + (Math.pow((q / TN) * TMAX, look.gamma) - 0.5) * look.contrast;
  return (x: number) => { const f = Math.min(TN, Math.max(0, x * (TN / TMAX))); const i = f | 0; return i >= TN ? tone[TN] : tone[i] + (f - i) * (tone[i + 1] - tone[i]); };
}

function applyLookGray(img: Float32Array, size: number, look: Look, rng: Rng): Float32Array {
  const n = size * size;
  const [gr, gg, gb] = look.gains;
  const Y = new Float32Array(n);
  for (let i = 0; i < n; i++) Y[i] = 0.299 * gr * img[3 * i] + 0.587 * gg * img[3 * i + 1] + 0.114 * gb * img[3 * i + 2];
  const sigma = look.blur * (size / 128);
  if (sigma > 0.2) blur(Y, size, sigma);
  const curve = toneTable(look);
  const c0 = size / 2, invR2 = 1 / (c0 * c0 * 2), nz = look.noise;
  for (let i = 0; i < n; i++) {
    const x = (i % size) + 0.5 - c0, y = Math.floor(i / size) + 0.5 - c0;
    const u = rng.u32();
    Y[i] = curve(Y[i] * (1 - look.vignette * (x * x + y * y) * invR2)) + nz * (((u & 1023) + ((u >>> 10) & 1023) + ((u >>> 20) & 1023)) / 1023 - 1.5) * 2;
  }
  const [pl, pt, pr, pb] = look.pad.map((f) => Math.round(f * size));
  if (pl + pt + pr + pb > 0)
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (x < pl || y < pt || x >= size - pr || y >= size - pb) Y[y * size + x] = 0;
  if (look.jpeg > 0) blockQuantise(Y, size, look.jpeg);
  for (let i = 0; i < n; i++) Y[i] = Math.min(1, Math.max(0, Y[i]));
  return Y;
}

/**
 * JPEG-like compression: to YCbCr, luminance quantised in 8×8 DCT blocks, chroma subsampled 2×2 and
 * quantised more coarsely (as JPEG's 4:2:0 does), back to RGB.
 */
function jpeg(planes: Float32Array[], size: number, step: number): void {
  const n = size * size, h = size >> 1;
  const [R, G, B] = planes;
  const Y = new Float32Array(n), cb = new Float32Array(h * h), cr = new Float32Array(h * h);
  for (let i = 0; i < n; i++) Y[i] = 0.299 * R[i] + 0.587 * G[i] + 0.114 * B[i];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < h; x++) {
      let sb = 0, sr = 0;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
        const i = (2 * y + dy) * size + 2 * x + dx;
        sb += -0.168736 * R[i] - 0.331264 * G[i] + 0.5 * B[i];
        sr += 0.5 * R[i] - 0.418688 * G[i] - 0.081312 * B[i];
      }
      cb[y * h + x] = sb / 4 + 0.5; cr[y * h + x] = sr / 4 + 0.5;
    }
  blockQuantise(Y, size, step);
  blockQuantise(cb, h, step * 1.8);
  blockQuantise(cr, h, step * 1.8);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = y * size + x, j = Math.min(h - 1, y >> 1) * h + Math.min(h - 1, x >> 1);
      const b = cb[j] - 0.5, r = cr[j] - 0.5;
      R[i] = Y[i] + 1.402 * r;
      G[i] = Y[i] - 0.344136 * b - 0.714136 * r;
      B[i] = Y[i] + 1.772 * b;
    }
}

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

export function blur(ch: Float32Array, size: number, sigma: number): void {
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

