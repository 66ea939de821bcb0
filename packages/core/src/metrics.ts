/**
 * Landmark accuracy metrics in the seed study's ×100 convention: an NME of 3.61 means 3.61 % of the
 * normalising distance. AUC, failure rate and the CED's y values are fractions in [0, 1]; thresholds
 * (AUC@8, FR@10, CED x) are in the ×100 NME scale.
 */
import { UsageError } from "./errors";
import { IBUG68_LEFT_EYE, IBUG68_OUTER_EYE_CORNERS, IBUG68_RIGHT_EYE } from "./ibug68";
import { NORM_KINDS, type NormKind } from "./study";

/**
 * How to normalise each image's errors:
 * - a NormKind: computed from the GT, which must then be 68 points in iBug68 order;
 * - `{ name, perImage }`: one normaliser per image supplied by the caller, for shapes that are not
 *   iBug68 (dense synthetic shapes: compute it from the face's 68 GT points with `normalisers`).
 */
export type Normalisation = NormKind | { name: string; perImage: ArrayLike<number> };

/** One shape per entry, or one flat batch `B·N·2` (then N comes from the options). */
export type Shapes = ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

function mean2(shape: ArrayLike<number>, base: number, idx: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += shape[base + 2 * i];
    y += shape[base + 2 * i + 1];
  }
  return [x / idx.length, y / idx.length];
}

/**
 * The normalising distance of one iBug68 GT shape (starting at float `base` of `gt`):
 * inter-pupil = distance between the eye centres (means of 36–41 and 42–47), inter-ocular = distance
 * between the outer eye corners 36 and 45, bbox = sqrt(width · height) of the GT points' box.
 * Throws UsageError when it is zero or not finite (`label` names the image in the message).
 */
export function normaliserOf(gt: ArrayLike<number>, kind: NormKind, label = "shape", base = 0): number {
  if (gt.length - base < 136) throw new UsageError(`${label}: ${kind} normalisation needs 68 iBug68 points, got ${(gt.length - base) / 2}`);
  let d: number;
  if (kind === "inter-pupil") {
    const [ax, ay] = mean2(gt, base, IBUG68_RIGHT_EYE);
    const [bx, by] = mean2(gt, base, IBUG68_LEFT_EYE);
    d = Math.hypot(ax - bx, ay - by);
  } else if (kind === "inter-ocular") {
    const [a, b] = IBUG68_OUTER_EYE_CORNERS;
    d = Math.hypot(gt[base + 2 * a] - gt[base + 2 * b], gt[base + 2 * a + 1] - gt[base + 2 * b + 1]);
  } else if (kind === "bbox") {
    let x0 = Infinity,
      y0 = Infinity,
      x1 = -Infinity,
      y1 = -Infinity;
    for (let i = 0; i < 68; i++) {
      const x = gt[base + 2 * i];
      const y = gt[base + 2 * i + 1];
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    d = Math.sqrt((x1 - x0) * (y1 - y0));
  } else {
    throw new UsageError(`unknown normalisation "${String(kind)}" (expected one of ${NORM_KINDS.join(", ")})`);
  }
  if (!(Number.isFinite(d) && d > 0))
    throw new UsageError(`${label}: degenerate ${kind} normaliser (${d}); the GT eyes or box collapse to a point or hold non-numbers`);
  return d;
}

/** Per-image normalisers of a batch of iBug68 GT shapes (flat B·68·2, or a list of shapes). */
export function normalisers(gts68: Shapes, kind: NormKind, labels?: readonly string[]): Float64Array {
  const list = toList(gts68, 68, "GT");
  return Float64Array.from(list, (g, b) => normaliserOf(g, kind, labels?.[b] ?? `image ${b}`));
}

/** Per-point errors of one shape, ×100 of the normaliser. */
export function pointErrors(pred: ArrayLike<number>, gt: ArrayLike<number>, normaliser: number): Float64Array {
  if (pred.length !== gt.length) throw new UsageError(`prediction has ${pred.length / 2} points, GT has ${gt.length / 2}`);
  const n = gt.length / 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (100 * Math.hypot(pred[2 * i] - gt[2 * i], pred[2 * i + 1] - gt[2 * i + 1])) / normaliser;
  return out;
}

/** NME (×100) of one 68-point shape with a named normalisation, or of any shape with a given normaliser. */
export function nme(pred: ArrayLike<number>, gt: ArrayLike<number>, norm: NormKind | number): number {
  const d = typeof norm === "number" ? norm : normaliserOf(gt, norm);
  const e = pointErrors(pred, gt, d);
  return e.reduce((a, b) => a + b, 0) / e.length;
}

/** CED: for each threshold x (×100), the fraction of images with NME ≤ x. */
export function cedCurve(perImage: ArrayLike<number>, options: { max?: number; step?: number } = {}): { x: number[]; y: number[] } {
  const max = options.max ?? 10;
  const step = options.step ?? 0.1;
  const sorted = Float64Array.from(perImage).sort();
  const steps = Math.round(max / step);
  const x: number[] = [];
  const y: number[] = [];
  let k = 0;
  for (let s = 0; s <= steps; s++) {
    const t = Number((s * step).toFixed(10)); // avoid 0.30000000000000004 in stored thresholds
    while (k < sorted.length && sorted[k] <= t) k++;
    x.push(t);
    y.push(sorted.length ? k / sorted.length : 0);
  }
  return { x, y };
}

/**
 * Area under the CED from 0 to t, divided by t (1 = every image perfect). Exact for the step-function
 * CED: ∫₀ᵗ 1[e ≤ x] dx = max(0, t − e), so AUC@t = mean over images of max(0, t − e) / t.
 */
export function aucAt(perImage: ArrayLike<number>, t: number): number {
  if (perImage.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < perImage.length; i++) s += Math.max(0, t - perImage[i]);
  return s / (perImage.length * t);
}

/** Failure rate at t: the fraction of images with NME > t. */
export function failureRate(perImage: ArrayLike<number>, t: number): number {
  if (perImage.length === 0) return 0;
  let f = 0;
  for (let i = 0; i < perImage.length; i++) if (perImage[i] > t) f++;
  return f / perImage.length;
}

/** Field names match the Prisma `Evaluation` model. */
export interface EvaluationResult {
  /** Mean over images of the per-image NME (×100). */
  nme: number;
  auc8: number;
  fr8: number;
  auc10: number;
  fr10: number;
  /** Mean normalised error (×100) of each landmark over images, in the scheme's order. */
  perLandmark: number[];
  /** NME (×100) of each image, in input order (for paired tests between models). */
  perImage: number[];
  cedX: number[];
  cedY: number[];
  count: number;
}

export interface EvaluateOptions {
  norm: Normalisation;
  /** Points per shape when preds/gts are flat batches; default 68 for a named norm, else derived. */
  points?: number;
  /** Image names for error messages (default "image <index>"). */
  labels?: readonly string[];
  /** CED thresholds 0..cedMax (×100) every cedStep; default 0..10 by 0.1. */
  cedMax?: number;
  cedStep?: number;
}

/**
 * Evaluates predictions against GT on a set of images. Throws UsageError on mismatched counts,
 * non-finite coordinates and degenerate normalisers, naming the image.
 */
export function evaluateShapes(preds: Shapes, gts: Shapes, options: EvaluateOptions): EvaluationResult {
  const { norm } = options;
  const named = typeof norm === "string";
  let points = options.points;
  if (points === undefined) {
    if (named) points = 68;
    else if (isList(gts)) points = (gts[0]?.length ?? 0) / 2;
    else points = norm.perImage.length ? gts.length / 2 / norm.perImage.length : 0;
  }
  const P = toList(preds, points, "prediction");
  const G = toList(gts, points, "GT");
  if (P.length !== G.length) throw new UsageError(`${P.length} predictions but ${G.length} GT shapes`);
  if (G.length === 0) throw new UsageError("nothing to evaluate: no images");
  if (!named && norm.perImage.length !== G.length)
    throw new UsageError(`normalisation "${norm.name}": ${norm.perImage.length} normalisers for ${G.length} images`);
  const label = (b: number) => options.labels?.[b] ?? `image ${b}`;

  const perLandmark = new Float64Array(points);
  const perImage: number[] = [];
  for (let b = 0; b < G.length; b++) {
    const p = P[b];
    const g = G[b];
    if (p.length !== g.length) throw new UsageError(`${label(b)}: prediction has ${p.length / 2} points, GT has ${g.length / 2}`);
    for (let k = 0; k < g.length; k++) {
      if (!Number.isFinite(g[k])) throw new UsageError(`${label(b)}: GT point ${k >> 1} is not finite (${g[k]})`);
      if (!Number.isFinite(p[k])) throw new UsageError(`${label(b)}: predicted point ${k >> 1} is not finite (${p[k]})`);
    }
    let d: number;
    if (named) d = normaliserOf(g, norm, label(b));
    else {
      d = norm.perImage[b];
      if (!(Number.isFinite(d) && d > 0)) throw new UsageError(`${label(b)}: degenerate ${norm.name} normaliser (${d})`);
    }
    const e = pointErrors(p, g, d);
    let s = 0;
    for (let i = 0; i < points; i++) {
      perLandmark[i] += e[i];
      s += e[i];
    }
    perImage.push(s / points);
  }
  const count = G.length;
  const ced = cedCurve(perImage, { max: options.cedMax, step: options.cedStep });
  return {
    nme: perImage.reduce((a, b) => a + b, 0) / count,
    auc8: aucAt(perImage, 8),
    fr8: failureRate(perImage, 8),
    auc10: aucAt(perImage, 10),
    fr10: failureRate(perImage, 10),
    perLandmark: Array.from(perLandmark, (v) => v / count),
    perImage,
    cedX: ced.x,
    cedY: ced.y,
    count,
  };
}

function isList(s: Shapes): s is ReadonlyArray<ArrayLike<number>> {
  return Array.isArray(s) && (s.length === 0 || typeof s[0] !== "number");
}

function toList(s: Shapes, points: number, what: string): ArrayLike<number>[] {
  if (isList(s)) return [...s];
  const flat = s as ArrayLike<number>;
  if (!(points > 0) || flat.length % (2 * points) !== 0)
    throw new UsageError(`${what} batch of ${flat.length} floats is not a whole number of ${points}-point shapes`);
  const out: ArrayLike<number>[] = [];
  for (let b = 0; b < flat.length; b += 2 * points)
    out.push(
      ArrayBuffer.isView(flat)
        ? (flat as unknown as Float32Array).subarray(b, b + 2 * points)
        : Array.prototype.slice.call(flat, b, b + 2 * points),
    );
  return out;
}
