import { readFile, writeFile } from "node:fs/promises";
import { UsageError } from "./errors";
import { formatPts, parsePts, type ParsePtsOptions } from "./pts-text";

export { PTS_TO_PIXEL_OFFSET, formatPts, parsePts, type ParsePtsOptions } from "./pts-text";

/** Reads a `.pts` file strictly (see parsePts); `points` makes its count a requirement (68 for iBUG markup). */
export async function readPts(path: string, options: ParsePtsOptions = {}): Promise<Float32Array> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePts(text, path, options);
}

export async function writePts(path: string, points: ArrayLike<number>): Promise<void> {
  await writeFile(path, formatPts(points));
}
