/**
 * Landmark losses. The model's heatmaps are logits; a spatial softmax per landmark turns each into a
 * distribution over the h×w cells, and soft-argmax (its expectation) into coordinates. Both losses
 * below act on that one distribution, so the heatmap term shapes it and the coordinate term
 * (integral regression, Sun et al. 2018) pins its mean; neither needs more than O(B·h·w·K) work,
 * which keeps hundreds of landmarks cheap.
 *
 * Coordinates are in image-side units, [0, 1] across the image (pixel coordinate / image side); heatmap
 * cell j covers [j/h, (j+1)/h), so its centre is (j + ½)/h — the same convention as `softArgmax`.
 *
 * Layout: the losses work on "rows", B×K×(h·w), one landmark's map per row, so that every reduction
 * runs along the last, contiguous axis. On the wasm backend a reduction over the spatial axes of the
 * model's B×h×w×K layout transposes its input first; with 490 landmarks that made the loss cost more
 * than the network. One transpose per stack now replaces a dozen.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./backend/gradients.js";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine";

// tfjs-core alone registers no gradients (see backend/gradients.ts); idempotent.
registerAllGradients();

/**
 * Default standard deviation of the Gaussian heatmap targets, in heatmap cells (RunConfig
 * `train.heatmapSigma`). One cell is the usual choice (Newell et al. use 1 px on 64×64 maps); wider
 * targets blur neighbouring dense points together, narrower ones give almost no gradient off-peak.
 */
export const HEATMAP_SIGMA = 1;

/** Heatmap logits B×h×w×K → rows B×K×(h·w). */
export function landmarkRows(heatmaps: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, k] = heatmaps.shape;
  return tf.transpose(tf.reshape(heatmaps, [b, h * w, k]), [0, 2, 1]) as tf.Tensor3D;
}

/**
 * How far inside the soft-argmax's reach (the outermost cell centres, ½ and size − ½ in cell units) a
 * target's mean is kept, in cells: a point beyond gets the target of the nearest point this far inside.
 * Closer would make the border target nearly one-hot (logits driven towards infinity); 0.05 cells is
 * 0.4 px on a 64-px image at 8×8.
 */
export const TARGET_EDGE_MARGIN = 0.05;

/**
 * The centre μ (cell units) of a Gaussian of `sigma` cells that, sampled at the `size` cell centres
 * j + ½ and renormalised, has its mean at `u` — the same Gaussian shape, moved outwards so that the
 * truncation at the grid's edge no longer pulls its mean inwards (a Gaussian centred on the point has
 * its mean pulled up to ~1 cell towards the middle near an 8-cell grid's edge). `u` outside the
 * reachable range is first clamped to it (`TARGET_EDGE_MARGIN`). Newton on the mean, whose derivative
 * is the sampled distribution's variance / σ², kept inside a bisection bracket; float64, to 1e-9 cells.
 */
export function targetCentre(u: number, size: number, sigma: number): number {
  if (size === 1) return 0.5;
  const want = Math.min(size - 0.5 - TARGET_EDGE_MARGIN, Math.max(0.5 + TARGET_EDGE_MARGIN, u));
  const s2 = sigma * sigma;
  const moments = (mu: number) => {
    // Weights relative to the largest (the cell nearest μ), so a centre far outside cannot underflow.
    const near = Math.min(size - 1, Math.max(0, Math.round(mu - 0.5)));
    const top = -((near + 0.5 - mu) ** 2) / (2 * s2);
    let w = 0;
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < size; j++) {
      const c = j + 0.5;
      const e = Math.exp(-((c - mu) ** 2) / (2 * s2) - top);
      w += e;
      m1 += e * c;
      m2 += e * c * c;
    }
    const mean = m1 / w;
    return { mean, variance: Math.max(0, m2 / w - mean * mean) };
  };
  // The mean grows monotonically with μ; bracket the root, then Newton with bisection as the fallback.
  let a = want - 1;
  let b = want + 1;
  while (moments(a).mean > want) a -= 2 * (want - a);
  while (moments(b).mean < want) b += 2 * (b - want);
  let mu = want;
  for (let it = 0; it < 100; it++) {
    const { mean, variance } = moments(mu);
    const f = mean - want;
    if (Math.abs(f) < 1e-9) break;
    if (f > 0) b = mu;
    else a = mu;
    const next = mu - (f * s2) / Math.max(variance, 1e-300);
    mu = next > a && next < b ? next : (a + b) / 2;
  }
  return mu;
}

/** Table entries per cell of `centreTable`. */
const TABLE_STEPS_PER_CELL = 128;
const centreTables = new Map<string, (u: number) => number>();

/**
 * `targetCentre` for one grid size and σ as a function of u, by linear interpolation in a table of
 * 128 entries per cell, built on first use (≈ 30 ms at 8 cells; the exact solve costs ~30 µs a point,
 * too much for every point of every step). Interpolation error: under 1e-4 cells at the clamp, where
 * μ(u) bends most, and far below elsewhere (tested against `targetCentre`).
 */
function centreTable(size: number, sigma: number): (u: number) => number {
  const key = `${size}:${sigma}`;
  const hit = centreTables.get(key);
  if (hit) return hit;
  const lo = 0.5 + TARGET_EDGE_MARGIN;
  const hi = size - 0.5 - TARGET_EDGE_MARGIN;
  const steps = Math.max(1, Math.ceil((hi - lo) * TABLE_STEPS_PER_CELL));
  const mu = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) mu[i] = targetCentre(lo + ((hi - lo) * i) / steps, size, sigma);
  const f =
    size === 1
      ? () => 0.5
      : (u: number) => {
          const t = ((Math.min(hi, Math.max(lo, u)) - lo) / (hi - lo)) * steps;
          const i = Math.min(steps - 1, Math.floor(t));
          return mu[i] + (t - i) * (mu[i + 1] - mu[i]);
        };
  centreTables.set(key, f);
  return f;
}

/**
 * Gaussian target distributions for landmark coordinates (B×N×2 in image-side units) on an h×w grid,
 * as rows B×N×(h·w) (row-major cells), each summing to 1: a separable product of 1-D Gaussians of σ
 * cells sampled at the cell centres, each normalised over the grid, and each centred (`targetCentre`)
 * so that its expectation — what soft-argmax reads from a prediction equal to the target, i.e. the best
 * prediction under the cross-entropy alone — is the landmark itself wherever soft-argmax can reach it
 * (issue 14: centred on the point, the truncated Gaussian put it up to 0.54 cells inwards at 8×8). The
 * coordinates are read to the host for this (they are data, never differentiated).
 */
export function gaussianTargetRows(coords: tf.Tensor3D, h: number, w = h, sigma = HEATMAP_SIGMA): tf.Tensor3D {
  const [b, n] = coords.shape;
  const xy = coords.dataSync();
  const cx = centreTable(w, sigma);
  const cy = centreTable(h, sigma);
  const centres = new Float32Array(xy.length);
  for (let i = 0; i < xy.length; i += 2) {
    centres[i] = cx(xy[i] * w);
    centres[i + 1] = cy(xy[i + 1] * h);
  }
  return tf.tidy(() => {
    const mu = tf.tensor3d(centres, [b, n, 2]);
    const axis = (c: tf.Tensor, size: number) => {
      const cells = tf.reshape(tf.add(tf.range(0, size, 1, "float32"), 0.5), [1, 1, size]);
      const d = tf.sub(cells, c); // B×N×size, in cells
      const q = tf.div(tf.mul(d, d), -2 * sigma * sigma);
      const e = tf.exp(tf.sub(q, tf.max(q, 2, true))); // a centre far outside must not underflow to 0/0
      return tf.div(e, tf.sum(e, 2, true));
    };
    const gx = axis(tf.slice(mu, [0, 0, 0], [b, n, 1]), w); // B×N×w
    const gy = axis(tf.slice(mu, [0, 0, 1], [b, n, 1]), h); // B×N×h
    return tf.reshape(tf.mul(tf.reshape(gy, [b, n, h, 1]), tf.reshape(gx, [b, n, 1, w])), [b, n, h * w]) as tf.Tensor3D;
  });
}

/**
 * log-softmax along the last axis, with its gradient written out (dx = dy − softmax·Σdy): tfjs's generic
 * logSumExp gradient goes through the max's Equal mask, which on the wasm backend cost more than the
 * network's whole forward pass.
 */
export function rowLogSoftmax(rows: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // The max only keeps exp() in range; softmax is shift-invariant, so it needs no gradient.
    const shifted = tf.sub(x, tf.max(x, -1, true));
    const e = tf.exp(shifted);
    const total = tf.sum(e, -1, true);
    save([tf.div(e, total)]); // the softmax itself, so the backward pass needs no second exp()
    return {
      value: tf.sub(shifted, tf.log(total)),
      gradFunc: (dy: tf.Tensor, [p]: tf.Tensor[]) => tf.sub(dy, tf.mul(p, tf.sum(dy, -1, true))),
    };
  }) as unknown as CustomGradientFunc<tf.Tensor3D>);
  return f(rows) as tf.Tensor3D;
}

/**
 * Soft-argmax of probability rows p (B×K×(h·w)): the expected cell centre, B×K×2 in image-side units,
 * as one matMul with the grid of cell centres (the same numbers as backend/ops.ts's `softArgmax`).
 */
export function expectedCoords(p: tf.Tensor3D, h: number, w = h): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, k] = p.shape;
    const grid = new Float32Array(h * w * 2);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        grid[(i * w + j) * 2] = (j + 0.5) / w;
        grid[(i * w + j) * 2 + 1] = (i + 0.5) / h;
      }
    return tf.reshape(tf.matMul(tf.reshape(p, [b * k, h * w]), tf.tensor2d(grid, [h * w, 2])), [b, k, 2]) as tf.Tensor3D;
  });
}

/**
 * Heatmap loss: cross-entropy between the Gaussian target rows and the log spatial softmax of the
 * logits, averaged over images and landmarks. Chosen over Newell's MSE-on-raw-maps because our logits
 * feed a softmax (for soft-argmax): MSE would train the raw maps towards a [0, 1] bump whose softmax is
 * almost flat, fighting the coordinate term. Its minimum is the target's entropy (≈ 2.84 nats at σ = 1
 * on a fine grid), not 0, so only its decrease is meaningful.
 */
export function heatmapLoss(logp: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const [b, k] = logp.shape;
    return tf.div(tf.neg(tf.sum(tf.mul(target, logp))), b * k) as tf.Scalar;
  });
}

/**
 * Coordinate L1 (integral regression): mean |soft-argmax − target| over images, landmarks and both axes,
 * measured in heatmap cells (image-side units × heatmapSize) so that its scale (≈ 1 when a landmark is a
 * cell off) matches the heatmap term's and one `coordWeight` means the same at any resolution.
 */
export function coordLoss(pred: tf.Tensor3D, target: tf.Tensor3D, heatmapSize: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.mean(tf.abs(tf.sub(pred, target))), heatmapSize) as tf.Scalar);
}

export interface LandmarkLossWeights {
  heatmapWeight: number;
  coordWeight: number;
  /** Gaussian target σ in heatmap cells (default HEATMAP_SIGMA). */
  heatmapSigma?: number;
}

/**
 * Intermediate supervision: the heatmap and coordinate losses applied to every stack's output and
 * averaged over stacks (so the loss scale does not grow with the stack count). Returns the total and
 * its two parts (for logging), plus the last stack's coordinates (the model's prediction).
 */
export function landmarkLoss(
  stacks: tf.Tensor4D[],
  target: tf.Tensor3D,
  weights: LandmarkLossWeights,
): { total: tf.Scalar; heatmap: tf.Scalar; coord: tf.Scalar; coords: tf.Tensor3D } {
  const [, h, w] = stacks[0].shape;
  const maps = weights.heatmapWeight > 0 ? gaussianTargetRows(target, h, w, weights.heatmapSigma ?? HEATMAP_SIGMA) : null;
  let heat: tf.Scalar = tf.scalar(0);
  let coord: tf.Scalar = tf.scalar(0);
  let coords: tf.Tensor3D | null = null;
  for (const hm of stacks) {
    // One log-softmax per stack serves both terms.
    const logp = rowLogSoftmax(landmarkRows(hm));
    if (maps) heat = tf.add(heat, heatmapLoss(logp, maps)) as tf.Scalar;
    coords = expectedCoords(tf.exp(logp) as tf.Tensor3D, h, w);
    if (weights.coordWeight > 0) coord = tf.add(coord, coordLoss(coords, target, h)) as tf.Scalar;
  }
  heat = tf.div(heat, stacks.length) as tf.Scalar;
  coord = tf.div(coord, stacks.length) as tf.Scalar;
  const total = tf.add(tf.mul(heat, weights.heatmapWeight), tf.mul(coord, weights.coordWeight)) as tf.Scalar;
  return { total, heatmap: heat, coord, coords: coords as tf.Tensor3D };
}
