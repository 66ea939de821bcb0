/**
 * Landmark losses. The model's heatmaps are logits; a spatial softmax per landmark turns each into a
 * distribution over the h×w cells, and soft-argmax (its expectation) into coordinates. Both losses
 * below act on that one distribution, so the heatmap term shapes it and the coordinate term
 * (integral regression, Sun et al. 2018) pins its mean; neither needs more than O(B·h·w·K) work,
 * which keeps hundreds of landmarks cheap.
 *
 * Coordinates are in image-side units, [0, 1] across the image (pixel coordinate / image side); heatmap
 * cell j covers [j/h, (j+1)/h), so its centre is (j + ½)/h — the same convention as `softArgmax`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./backend/gradients.js";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine";

// tfjs-core alone registers no gradients (see backend/gradients.ts); idempotent.
registerAllGradients();

/**
 * Standard deviation of the Gaussian heatmap targets, in heatmap cells. One cell (4 input pixels at
 * 64→16) is the usual choice for 64×64 hourglasses (Newell et al. use 1 px at 64×64 output); wider
 * targets blur neighbouring dense points together, narrower ones give almost no gradient off-peak.
 */
export const HEATMAP_SIGMA = 1;

/**
 * Gaussian target distributions for landmark coordinates (B×N×2 in image-side units): B×h×w×N, each
 * landmark's map summing to 1 (a separable product of 1-D Gaussians evaluated at cell centres).
 */
export function gaussianTargets(coords: tf.Tensor3D, size: number, sigma = HEATMAP_SIGMA): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, n] = coords.shape;
    const centres = tf.div(tf.add(tf.range(0, size, 1, "float32"), 0.5), size); // size
    const scaled = tf.mul(coords, size); // cells
    const cells = tf.mul(centres, size);
    const x = tf.reshape(tf.slice(scaled, [0, 0, 0], [b, n, 1]), [b, 1, n]);
    const y = tf.reshape(tf.slice(scaled, [0, 0, 1], [b, n, 1]), [b, 1, n]);
    const g = (c: tf.Tensor) => {
      const d = tf.sub(tf.reshape(cells, [1, size, 1]), c); // B×size×N
      const e = tf.exp(tf.div(tf.mul(d, d), -2 * sigma * sigma));
      return tf.div(e, tf.add(tf.sum(e, 1, true), 1e-12)); // normalise each axis: the product sums to 1
    };
    const gx = tf.reshape(g(x), [b, 1, size, n]);
    const gy = tf.reshape(g(y), [b, size, 1, n]);
    return tf.mul(gy, gx) as tf.Tensor4D;
  });
}

/**
 * log of the per-landmark spatial softmax of heatmap logits B×h×w×K (normalised over h, w), with its
 * gradient written out (dx = dy − softmax·Σdy): tfjs's generic logSumExp gradient goes through the max's
 * Equal mask, which on the wasm backend cost more than the whole network's forward pass.
 */
export function spatialLogSoftmax(heatmaps: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // The max only keeps exp() in range; softmax is shift-invariant, so it needs no gradient.
    const shifted = tf.sub(x, tf.max(x, [1, 2], true));
    const e = tf.exp(shifted);
    const total = tf.sum(e, [1, 2], true);
    save([tf.div(e, total)]); // the softmax itself, so the backward pass needs no second exp()
    return {
      value: tf.sub(shifted, tf.log(total)),
      gradFunc: (dy: tf.Tensor, [p]: tf.Tensor[]) => tf.sub(dy, tf.mul(p, tf.sum(dy, [1, 2], true))),
    };
  }) as unknown as CustomGradientFunc<tf.Tensor4D>);
  return f(heatmaps) as tf.Tensor4D;
}

/**
 * Soft-argmax from spatial probabilities p (B×h×w×K): the expected cell centre, B×K×2 in image-side
 * units — `softArgmax` of model.ts computed as two marginal sums instead of a transpose and a matMul
 * (identical numbers; cheaper on the CPU backends at hundreds of landmarks).
 */
export function expectedCoords(p: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, h, w, k] = p.shape;
    const cx = tf.reshape(tf.div(tf.add(tf.range(0, w, 1, "float32"), 0.5), w), [1, w, 1]);
    const cy = tf.reshape(tf.div(tf.add(tf.range(0, h, 1, "float32"), 0.5), h), [1, h, 1]);
    const x = tf.sum(tf.mul(tf.sum(p, 1), cx), 1); // B×K
    const y = tf.sum(tf.mul(tf.sum(p, 2), cy), 1);
    return tf.concat([tf.reshape(x, [b, k, 1]), tf.reshape(y, [b, k, 1])], 2) as tf.Tensor3D;
  });
}

/**
 * Heatmap loss: cross-entropy between the Gaussian target and the spatial softmax of the logits,
 * averaged over images and landmarks. Chosen over Newell's MSE-on-raw-maps because our logits feed a
 * softmax (for soft-argmax): MSE would train the raw maps towards a [0, 1] bump whose softmax is
 * almost flat, fighting the coordinate term. Its minimum is the target's entropy (≈ 2.84 nats at σ = 1),
 * not 0, so only its decrease is meaningful.
 */
export function heatmapLoss(logits: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => crossEntropy(spatialLogSoftmax(logits), target));
}

function crossEntropy(logp: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  const [b, , , k] = logp.shape;
  return tf.div(tf.neg(tf.sum(tf.mul(target, logp))), b * k) as tf.Scalar;
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
  const size = stacks[0].shape[1];
  const maps = weights.heatmapWeight > 0 ? gaussianTargets(target, size) : null;
  let heat: tf.Scalar = tf.scalar(0);
  let coord: tf.Scalar = tf.scalar(0);
  let coords: tf.Tensor3D | null = null;
  for (const hm of stacks) {
    // One spatial softmax per stack serves both terms.
    const logp = spatialLogSoftmax(hm);
    if (maps) heat = tf.add(heat, crossEntropy(logp, maps)) as tf.Scalar;
    coords = expectedCoords(tf.exp(logp) as tf.Tensor4D);
    if (weights.coordWeight > 0) coord = tf.add(coord, coordLoss(coords, target, size)) as tf.Scalar;
  }
  heat = tf.div(heat, stacks.length) as tf.Scalar;
  coord = tf.div(coord, stacks.length) as tf.Scalar;
  const total = tf.add(tf.mul(heat, weights.heatmapWeight), tf.mul(coord, weights.coordWeight)) as tf.Scalar;
  return { total, heatmap: heat, coord, coords: coords as tf.Tensor3D };
}
