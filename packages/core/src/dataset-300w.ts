import { readdir, readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import sharp from "sharp";
import { UsageError } from "./errors";
import { FACE_CROP_MARGIN, FACE_CROP_SCALE, faceCrop } from "./face-framing";
import { PTS_TO_PIXEL_OFFSET, readPts } from "./pts";

/**
 * A 300-W style folder: images (.jpg/.jpeg/.png) each beside a `.pts` file of the same base name, in any
 * sub-folder. Faces are framed by core's one rule (face-framing.ts: a square 1.4× the 68-point box,
 * centred, sub-pixel exact, black outside the photo), resized to the model input, and their landmarks
 * moved into the crop's pixel frame (docs/ARCHITECTURE.md conventions).
 */
export interface FaceEntry {
  /** Path relative to the folder, without extension, '/'-separated: "lfpw/testset/image_0001". */
  name: string;
  imagePath: string;
  ptsPath: string;
}

export const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Lists image/.pts pairs under `dir` (recursively, sorted by name). A `.pts` without an image is an
 * error (labels of a missing photo); images without `.pts` are ignored (300-W folders hold some).
 * Only regular files count: symbolic links are not followed, so every entry lies inside `dir`.
 */
export async function list300W(dir: string): Promise<FaceEntry[]> {
  let files: string[];
  try {
    files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  } catch (e) {
    throw new UsageError(`${dir}: cannot read folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const images = new Map<string, string>();
  const pts = new Map<string, string>();
  for (const f of files) {
    const rel = relative(dir, f).split(sep).join("/");
    if (IMAGE_EXT.test(rel)) {
      const key = rel.replace(IMAGE_EXT, "");
      // One photo per name: two is ambiguous.
      if (images.has(key)) throw new UsageError(`${dir}: two images for "${key}" (${images.get(key)} and ${f})`);
      images.set(key, f);
    } else if (/\.pts$/i.test(rel)) pts.set(rel.replace(/\.pts$/i, ""), f);
  }
  const out: FaceEntry[] = [];
  for (const [name, ptsPath] of pts) {
    const imagePath = images.get(name);
    if (!imagePath) throw new UsageError(`${ptsPath}: no image beside it (looked for ${name}.jpg/.jpeg/.png)`);
    out.push({ name, imagePath, ptsPath });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Keeps the entries named in a split list file: one entry per line (blank lines and `#` comments
 * ignored), each a path relative to the dataset folder `dir` (the folder `entries` were listed from),
 * with or without extension (".jpg", ".png", ".pts"). An entry must resolve inside that folder and name
 * one of its image/.pts pairs; otherwise the error names the list file and the line, and never quotes
 * the line (issue 16.1: a spec could point a list at any file).
 */
export async function applySplitList(entries: FaceEntry[], listPath: string, dir?: string): Promise<FaceEntry[]> {
  let text: string;
  try {
    text = await readFile(listPath, "utf8");
  } catch (e) {
    throw new UsageError(`${listPath}: cannot read split list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const out: FaceEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const where = `${listPath}:${i + 1}: line ${i + 1}`;
    const path = line.replace(/\\/g, "/");
    if (isAbsolute(path) || (dir !== undefined && !isInside(resolve(dir, path), resolve(dir))) || path.split("/").includes(".."))
      throw new UsageError(`${where} is not a path inside the dataset folder`);
    const key = path.replace(/^(\.\/)+/, "").replace(/\.(jpe?g|png|pts)$/i, "");
    const e = byName.get(key);
    if (!e) throw new UsageError(`${where} is not an image with a .pts in the dataset folder`);
    if (!seen.has(key)) out.push(e);
    seen.add(key);
  });
  return out;
}

/** Whether `path` is `root` or inside it (both absolute and normalised). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export interface CropOptions {
  /** Model input side (pixels); the crop is square. */
  inputSize: number;
  /** 1 = grayscale, 3 = RGB. */
  channels: 1 | 3;
  /**
   * Added on each side of the 68-point box, in units of its larger side. Default: the framing rule's
   * FACE_CROP_MARGIN (0.2, a 1.4× square), which every domain uses; other values are for tests and looks.
   */
  margin?: number;
  /** The .pts values are 1-based (300-W); set false for files already in 0-based pixel-centre-0.5 form. */
  oneBasedPts?: boolean;
}

export interface Face {
  name: string;
  /** inputSize·inputSize·channels, HWC, values in [0, 1]; outside the photo is black. */
  image: Float32Array;
  size: number;
  channels: 1 | 3;
  /** Landmarks in the crop's pixels (origin top-left of the crop, pixel i covers [i, i+1)). */
  landmarks: Float32Array;
  /** The crop in original-image pixels (continuous): x_crop = (x − left) · scale, likewise y. */
  crop: { left: number; top: number; side: number; scale: number };
  original: { width: number; height: number };
}

/**
 * The crop of a face by the framing rule (face-framing.ts `faceCrop`), widened or narrowed about the
 * same centre when `margin` is not the rule's. Continuous source pixels.
 */
export function cropBox(points68: ArrayLike<number>, margin = FACE_CROP_MARGIN): { left: number; top: number; side: number } {
  const c = faceCrop(points68);
  const side = (c.side * (1 + 2 * margin)) / FACE_CROP_SCALE;
  return { left: c.x0 + c.side / 2 - side / 2, top: c.y0 + c.side / 2 - side / 2, side };
}

/**
 * A crop closer than this (source pixels) to the whole image is the whole image: a dataset cut by the
 * rule already (../shared/datasets/300w128: its re-framing differs from the identity by < 4e-6 px) is
 * then resized exactly as `readImageResized` resizes it, the way `lml predict` reads a face crop.
 */
export const IDENTITY_CROP_TOLERANCE = 1e-3;

function sharpError(path: string) {
  return (e: Error): never => {
    throw new UsageError(`${path}: cannot decode image (${e.message.split("\n")[0]})`);
  };
}

/** The pixels of a sharp raw buffer as floats in [0, 1]. */
function toFloats(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = data[k] / 255;
  return out;
}

/**
 * A whole image resized to size×size (stretched if not square) with sharp's Lanczos-3, as grayscale or
 * RGB floats in [0, 1], and its original size. The training loader reads a face crop that is already
 * framed (crop = the whole image) this way, and `lml predict` reads every image this way.
 */
export async function readImageResized(
  path: string,
  size: number,
  channels: 1 | 3,
): Promise<{ image: Float32Array; width: number; height: number }> {
  const meta = await sharp(path).metadata().catch(sharpError(path));
  const { data, info } = await sharp(path)
    .resize(size, size, { fit: "fill", kernel: "lanczos3" })
    .removeAlpha()
    .toColourspace(channels === 1 ? "b-w" : "srgb")
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch(sharpError(path));
  if (info.channels !== channels) throw new Error(`sharp gave ${info.channels} channels, expected ${channels}`);
  return { image: toFloats(data), width: meta.width, height: meta.height };
}

/**
 * Resampling weights along one axis: output pixel u covers source [start + u·step, start + (u+1)·step).
 * Shrinking (step ≥ 1): the area average of the source pixels it covers (exact box filter, so no
 * aliasing); enlarging: linear interpolation at its centre. Source pixels outside [0, n) are black,
 * i.e. they weigh but add nothing.
 */
function axisWeights(out: number, start: number, step: number, n: number): { index: number[]; weight: number[] }[] {
  const taps: { index: number[]; weight: number[] }[] = [];
  for (let u = 0; u < out; u++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (step >= 1) {
      const a = start + u * step;
      const b = a + step;
      for (let j = Math.floor(a); j < Math.ceil(b); j++) {
        const w = (Math.min(b, j + 1) - Math.max(a, j)) / step;
        if (j >= 0 && j < n && w > 0) {
          index.push(j);
          weight.push(w);
        }
      }
    } else {
      const c = start + (u + 0.5) * step - 0.5; // in pixel-index coordinates (centres at integers)
      const j0 = Math.floor(c);
      const t = c - j0;
      if (j0 >= 0 && j0 < n) {
        index.push(j0);
        weight.push(1 - t);
      }
      if (j0 + 1 >= 0 && j0 + 1 < n && t > 0) {
        index.push(j0 + 1);
        weight.push(t);
      }
    }
    taps.push({ index, weight });
  }
  return taps;
}

/**
 * Cuts the square [left, left + side)² (continuous source pixels) out of an HWC image and resamples it to
 * size×size, separably (see axisWeights). Hand-written because sharp cuts whole pixels only; this keeps
 * the framing rule sub-pixel exact.
 */
function resampleSquare(
  src: Uint8Array,
  W: number,
  H: number,
  C: number,
  left: number,
  top: number,
  side: number,
  size: number,
): Float32Array {
  const step = side / size;
  const xs = axisWeights(size, left, step, W);
  const ys = axisWeights(size, top, step, H);
  const rows = new Map<number, Float32Array>();
  const row = (y: number) => {
    let r = rows.get(y);
    if (!r) {
      r = new Float32Array(size * C);
      for (let u = 0; u < size; u++) {
        const { index, weight } = xs[u];
        for (let k = 0; k < index.length; k++) {
          const o = (y * W + index[k]) * C;
          for (let c = 0; c < C; c++) r[u * C + c] += weight[k] * src[o + c];
        }
      }
      rows.set(y, r);
    }
    return r;
  };
  const out = new Float32Array(size * size * C);
  for (let v = 0; v < size; v++) {
    const { index, weight } = ys[v];
    for (let k = 0; k < index.length; k++) {
      const r = row(index[k]);
      for (let i = 0; i < size * C; i++) out[v * size * C + i] += (weight[k] * r[i]) / 255;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return out;
}

/**
 * Loads one face: reads its .pts (exactly 68 points, every error naming the file and line), frames it by
 * the rule, and resamples the photo to the model input.
 */
export async function loadFace(entry: FaceEntry, options: CropOptions): Promise<Face> {
  const { inputSize: size, channels } = options;
  const margin = options.margin ?? FACE_CROP_MARGIN;
  if (!(Number.isInteger(size) && size > 0)) throw new UsageError(`inputSize must be a positive integer, got ${size}`);
  if (!(margin >= 0)) throw new UsageError(`margin must be ≥ 0, got ${margin}`);
  const raw = await readPts(entry.ptsPath, { points: 68 });
  const offset = options.oneBasedPts === false ? 0 : PTS_TO_PIXEL_OFFSET;
  const pts = raw.map((v) => v + offset);

  const meta = await sharp(entry.imagePath).metadata().catch(sharpError(entry.imagePath));
  const W = meta.width;
  const H = meta.height;
  const { left, top, side } = cropBox(pts, margin);
  if (left + side <= 0 || top + side <= 0 || left >= W || top >= H)
    throw new UsageError(`${entry.ptsPath}: landmarks lie outside the ${W}×${H} image`);

  let image: Float32Array;
  const whole = [left, top, side - W, side - H].every((d) => Math.abs(d) < IDENTITY_CROP_TOLERANCE);
  if (whole) image = (await readImageResized(entry.imagePath, size, channels)).image;
  else {
    const { data, info } = await sharp(entry.imagePath)
      .removeAlpha()
      .toColourspace(channels === 1 ? "b-w" : "srgb")
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch(sharpError(entry.imagePath));
    if (info.channels !== channels) throw new Error(`sharp gave ${info.channels} channels, expected ${channels}`);
    image = resampleSquare(data, info.width, info.height, channels, left, top, side, size);
  }
  // Pixel edges map linearly: [left, left + side) → [0, size); the identity crop maps [0, W) → [0, size).
  const sx = whole ? size / W : size / side;
  const sy = whole ? size / H : size / side;
  const landmarks = new Float32Array(pts.length);
  for (let i = 0; i < pts.length; i += 2) {
    landmarks[i] = (pts[i] - (whole ? 0 : left)) * sx;
    landmarks[i + 1] = (pts[i + 1] - (whole ? 0 : top)) * sy;
  }
  const crop = whole ? { left: 0, top: 0, side: W, scale: sx } : { left, top, side, scale: sx };
  return { name: entry.name, image, size, channels, landmarks, crop, original: { width: W, height: H } };
}

/** Lists, optionally filters by a split list, and loads every face of a 300-W folder (in name order). */
export async function load300W(dir: string, options: CropOptions & { splitList?: string; limit?: number }): Promise<Face[]> {
  let entries = await list300W(dir);
  if (options.splitList) entries = await applySplitList(entries, options.splitList, dir);
  if (options.limit !== undefined) entries = entries.slice(0, options.limit);
  return loadFaces(entries, options);
}

/** Loads faces in order. */
export async function loadFaces(entries: FaceEntry[], options: CropOptions): Promise<Face[]> {
  const faces: Face[] = [];
  for (const e of entries) faces.push(await loadFace(e, options));
  return faces;
}
