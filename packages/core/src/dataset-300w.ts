import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import sharp from "sharp";
import { UsageError } from "./errors";
import { PTS_TO_PIXEL_OFFSET, readPts } from "./pts";

/**
 * A 300-W style folder: images (.jpg/.jpeg/.png) each beside a `.pts` file of the same base name, in any
 * sub-folder. Faces are cropped around their landmarks, resized to the model input with sharp, and their
 * landmarks moved into the crop's pixel frame (docs/ARCHITECTURE.md conventions).
 */
export interface FaceEntry {
  /** Path relative to the folder, without extension, '/'-separated: "lfpw/testset/image_0001". */
  name: string;
  imagePath: string;
  ptsPath: string;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Lists image/.pts pairs under `dir` (recursively, sorted by name). A `.pts` without an image is an
 * error (labels of a missing photo); images without `.pts` are ignored (300-W folders hold some).
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
      // One photo per name: prefer the first in sorted order, but two is ambiguous.
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
 * ignored), each a path relative to the folder with or without extension (".jpg", ".png", ".pts").
 * An entry that matches nothing is an error naming the list file and line.
 */
export async function applySplitList(entries: FaceEntry[], listPath: string): Promise<FaceEntry[]> {
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
    const key = line
      .replace(/\\/g, "/")
      .replace(/^\.\//, "")
      .replace(/\.(jpe?g|png|pts)$/i, "");
    const e = byName.get(key);
    if (!e) throw new UsageError(`${listPath}:${i + 1}: "${line}" is not an image with a .pts in the folder`);
    if (!seen.has(key)) out.push(e);
    seen.add(key);
  });
  return out;
}

export interface CropOptions {
  /** Model input side (pixels); the crop is square. */
  inputSize: number;
  /** 1 = grayscale, 3 = RGB. */
  channels: 1 | 3;
  /** Added on each side of the landmarks' box, as a fraction of the box's longer side (default 0.25). */
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
  /** The crop in original-image pixels: x_crop = (x − left) · scale, likewise y. */
  crop: { left: number; top: number; side: number; scale: number };
  original: { width: number; height: number };
}

/** The square crop (integer pixels) around a shape's box with `margin` on each side. */
export function cropBox(points: ArrayLike<number>, margin: number): { left: number; top: number; side: number } {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]);
    x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]);
    y1 = Math.max(y1, points[i + 1]);
  }
  const box = Math.max(x1 - x0, y1 - y0);
  const side = Math.max(1, Math.ceil(box * (1 + 2 * margin)));
  return { left: Math.floor((x0 + x1) / 2 - side / 2), top: Math.floor((y0 + y1) / 2 - side / 2), side };
}

/** Loads one face: reads the .pts and the photo, crops, resizes and converts it. */
export async function loadFace(entry: FaceEntry, options: CropOptions): Promise<Face> {
  const { inputSize: size, channels } = options;
  const margin = options.margin ?? 0.25;
  if (!(Number.isInteger(size) && size > 0)) throw new UsageError(`inputSize must be a positive integer, got ${size}`);
  if (!(margin >= 0)) throw new UsageError(`margin must be ≥ 0, got ${margin}`);
  const raw = await readPts(entry.ptsPath);
  const offset = options.oneBasedPts === false ? 0 : PTS_TO_PIXEL_OFFSET;
  const pts = raw.map((v) => v + offset);

  const meta = await sharp(entry.imagePath)
    .metadata()
    .catch((e: Error) => {
      throw new UsageError(`${entry.imagePath}: cannot decode image (${e.message})`);
    });
  const W = meta.width;
  const H = meta.height;
  const { left, top, side } = cropBox(pts, margin);
  // sharp cannot extract outside the image: cut the part inside, then pad it with black to the square.
  const ix0 = Math.max(0, left),
    iy0 = Math.max(0, top);
  const ix1 = Math.min(W, left + side),
    iy1 = Math.min(H, top + side);
  if (ix1 <= ix0 || iy1 <= iy0) throw new UsageError(`${entry.ptsPath}: landmarks lie outside the ${W}×${H} image`);
  let pipeline = sharp(entry.imagePath)
    .extract({ left: ix0, top: iy0, width: ix1 - ix0, height: iy1 - iy0 })
    .extend({
      left: ix0 - left,
      top: iy0 - top,
      right: left + side - ix1,
      bottom: top + side - iy1,
      background: { r: 0, g: 0, b: 0, alpha: 1 },
    })
    .removeAlpha();
  pipeline = channels === 1 ? pipeline.toColourspace("b-w") : pipeline.toColourspace("srgb");
  const square = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const { data, info } = await sharp(square.data, { raw: { width: side, height: side, channels: square.info.channels } })
    .resize(size, size, { fit: "fill", kernel: "lanczos3" })
    // Raw single-channel input comes out as sRGB unless told otherwise.
    .toColourspace(channels === 1 ? "b-w" : "srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`sharp gave ${info.channels} channels, expected ${channels}`);

  const image = new Float32Array(size * size * channels);
  for (let k = 0; k < image.length; k++) image[k] = data[k] / 255;
  // Pixel edges map linearly: [left, left + side) → [0, size).
  const scale = size / side;
  const landmarks = new Float32Array(pts.length);
  for (let i = 0; i < pts.length; i += 2) {
    landmarks[i] = (pts[i] - left) * scale;
    landmarks[i + 1] = (pts[i + 1] - top) * scale;
  }
  return { name: entry.name, image, size, channels, landmarks, crop: { left, top, side, scale }, original: { width: W, height: H } };
}

/** Lists, optionally filters by a split list, and loads every face of a 300-W folder (in name order). */
export async function load300W(dir: string, options: CropOptions & { splitList?: string; limit?: number }): Promise<Face[]> {
  let entries = await list300W(dir);
  if (options.splitList) entries = await applySplitList(entries, options.splitList);
  if (options.limit !== undefined) entries = entries.slice(0, options.limit);
  const faces: Face[] = [];
  for (const e of entries) faces.push(await loadFace(e, options));
  return faces;
}
