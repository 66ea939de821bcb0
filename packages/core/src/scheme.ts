import { UsageError } from "./errors";

/**
 * A landmark scheme: what the points of a shape mean. Shapes themselves are interleaved Float32Arrays
 * `[x0, y0, x1, y1, …]` (see docs/ARCHITECTURE.md).
 */
export interface LandmarkScheme {
  /** Stable identifier, e.g. "ibug68" or "synth-490". */
  id: string;
  /** Number of points N. */
  count: number;
  /** Optional human-readable name per point (length N). */
  names?: string[];
  /** Group (face part) of each point (length N), e.g. "jaw", "eyes". */
  groups: string[];
  /** mirror[i] = index of i's left/right twin under a horizontal flip; i itself for midline points. */
  mirror: Int32Array;
  /** Mean frontal shape, 2·N floats, interleaved x,y (frame documented by whoever defines the scheme). */
  template: Float32Array;
}

/** Checks every invariant of a scheme; throws UsageError naming the scheme and the bad field. */
export function validateScheme(scheme: LandmarkScheme): LandmarkScheme {
  const where = `scheme "${scheme.id}"`;
  const fail = (msg: string): never => {
    throw new UsageError(`${where}: ${msg}`);
  };
  if (typeof scheme.id !== "string" || scheme.id.length === 0) fail("id must be a non-empty string");
  const n = scheme.count;
  if (!Number.isInteger(n) || n <= 0) fail(`count: expected a positive integer, got ${n}`);
  if (scheme.names !== undefined && scheme.names.length !== n) fail(`names: expected ${n} entries, got ${scheme.names.length}`);
  if (scheme.groups.length !== n) fail(`groups: expected ${n} entries, got ${scheme.groups.length}`);
  if (!(scheme.mirror instanceof Int32Array)) fail("mirror must be an Int32Array");
  if (scheme.mirror.length !== n) fail(`mirror: expected ${n} entries, got ${scheme.mirror.length}`);
  for (let i = 0; i < n; i++) {
    const j = scheme.mirror[i];
    if (j < 0 || j >= n) fail(`mirror[${i}]: index ${j} out of range 0..${n - 1}`);
    // A flip applied twice must give the original shape back.
    if (scheme.mirror[j] !== i) fail(`mirror[${i}] = ${j} but mirror[${j}] = ${scheme.mirror[j]} (not a pairing)`);
  }
  if (!(scheme.template instanceof Float32Array)) fail("template must be a Float32Array");
  if (scheme.template.length !== 2 * n) fail(`template: expected ${2 * n} floats (2·count), got ${scheme.template.length}`);
  for (let k = 0; k < scheme.template.length; k++)
    if (!Number.isFinite(scheme.template[k])) fail(`template[${k}]: not a finite number (${scheme.template[k]})`);
  return scheme;
}

/**
 * Horizontal flip of one shape or a batch of shapes (length a multiple of 2·N) in an image of width
 * `width`: x' = width − x (pixel i covering [i, i+1) goes to [W−1−i, W−i)), and point i of the output is
 * the flipped point mirror[i] of the input, so a left eye corner stays a left eye corner.
 */
export function mirrorShape(shape: Float32Array, mirror: LandmarkScheme | Int32Array, width: number): Float32Array {
  const m = mirror instanceof Int32Array ? mirror : mirror.mirror;
  const n = m.length;
  if (shape.length % (2 * n) !== 0) throw new UsageError(`mirrorShape: shape length ${shape.length} is not a multiple of 2·${n}`);
  const out = new Float32Array(shape.length);
  for (let base = 0; base < shape.length; base += 2 * n) {
    for (let i = 0; i < n; i++) {
      const j = m[i];
      out[base + 2 * i] = width - shape[base + 2 * j];
      out[base + 2 * i + 1] = shape[base + 2 * j + 1];
    }
  }
  return out;
}

/** Indices of the points of `scheme` in `group`, ascending. */
export function groupIndices(scheme: LandmarkScheme, group: string): number[] {
  const out: number[] = [];
  scheme.groups.forEach((g, i) => {
    if (g === group) out.push(i);
  });
  return out;
}

/** Mirror permutation from a list of pairs; unlisted points map to themselves (the midline). */
export function mirrorFromPairs(count: number, pairs: ReadonlyArray<readonly [number, number]>): Int32Array {
  const m = Int32Array.from({ length: count }, (_, i) => i);
  for (const [a, b] of pairs) {
    m[a] = b;
    m[b] = a;
  }
  return m;
}
