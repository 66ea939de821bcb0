/**
 * The test crops and their standard face box. Every 300w128 crop is framed by core's rule (a square of
 * FACE_CROP_SCALE × the 68-point box, centred on it), so the same box holds the face in every crop: the
 * centred square of side `side / FACE_CROP_SCALE` (91.4 px at 128²). Peers run on a fixed box use it,
 * rounded out to whole pixels.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { FACE_CROP_SCALE, readImageResized, UsageError } from "@lml/core";

/** Whole-pixel square [x0, x1) × [y0, y1) covering the standard face box of a `side`² crop. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function standardFaceBox(side: number): PixelBox {
  const half = side / FACE_CROP_SCALE / 2;
  const c = side / 2;
  const x0 = Math.floor(c - half);
  const x1 = Math.ceil(c + half);
  return { x0, y0: x0, x1, y1: x1 };
}

/** Stems of the crops that have both a .jpg and a .pts, sorted. */
export async function listCrops(testDir: string): Promise<string[]> {
  const files = new Set(await readdir(testDir));
  const stems = [...files].filter((f) => f.endsWith(".jpg") && files.has(f.replace(/\.jpg$/, ".pts"))).map((f) => f.slice(0, -4));
  if (stems.length === 0) throw new UsageError(`${testDir}: no .jpg crops with a .pts beside them`);
  return stems.sort();
}

/**
 * One crop as RGB values in 0…255 (row-major side·side·3), read by core's image reader at its own size
 * (sharp does not resample then); every crop must be square and `side` wide.
 */
export async function readCrop(path: string, side: number): Promise<Float32Array> {
  const { image, width, height } = await readImageResized(path, side, 3);
  if (width !== side || height !== side) throw new UsageError(`${path}: expected a ${side}×${side} crop, got ${width}×${height}`);
  return image.map((v) => v * 255);
}

/** The side of the (square) crops, read from the first one. */
export async function cropSide(testDir: string, stems: readonly string[]): Promise<number> {
  const path = join(testDir, `${stems[0]}.jpg`);
  const { width, height } = await readImageResized(path, 1, 3);
  if (width !== height) throw new UsageError(`${path}: expected a square crop, got ${width}×${height}`);
  return width;
}
