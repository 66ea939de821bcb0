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
 * Gaussian target distributions for landmark coordinates (B×N×2 in image-side units) on an h×w grid,
 * as rows B×N×(h·w) (row-major cells), each summing to 1: a separable product of 1-D Gaussians
 * evaluated at cell centres, each normalised.
 */
export function gaussianTargetRows(coords: tf.Tensor3D, h: number, w = h, sigma = HEATMAP_SIGMA): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, n] = coords.shape;
    const axis = (c: tf.Tensor, size: number) => {
      const cells = tf.reshape(tf.add(tf.range(0, size, 1, "float32"), 0.5), [1, 1, size]);
      const d = tf.sub(cells, tf.mul(c, size)); // B×N×size, in cells
      const e = tf.exp(tf.div(tf.mul(d, d), -2 * sigma * sigma));
      return tf.div(e, tf.add(tf.sum(e, 2, true), 1e-12));
    };
    const gx = axis(tf.slice(coords, [0, 0, 0], [b, n, 1]), w); // B×N×w
    const gy = axis(tf.slice(coords, [0, 0, 1], [b, n, 1]), h); // B×N×h
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
