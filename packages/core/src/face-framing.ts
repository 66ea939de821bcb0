/**
 * One face framing for every domain (synthetic, proxy-real, 300-W): the model always sees a face of the
 * same size at the same place.
 *
 * The rule: a SQUARE crop centred on the bounding box of the 68 iBUG points, with side
 * FACE_CROP_SCALE (1.4) × the larger side of that box, sub-pixel exact (pixels outside the source are
 * black). That is how `../shared/datasets/300w128` was cut from the 300-W photos (its SOURCE.md), so in
 * every framed image the 68-point box has its larger side image/1.4 (91.43 px at 128²) and its centre at
 * the image centre. Variation of scale, shift and rotation comes only from the trainer's augmentation
 * (RunConfig `train.augment`), applied alike to every domain.
 */

/** Crop side ÷ the larger side of the 68-point box. */
export const FACE_CROP_SCALE = 1.4;
/** The same rule as a margin on each side of the box, in units of its larger side ((1.4 − 1) / 2). */
export const FACE_CROP_MARGIN = (FACE_CROP_SCALE - 1) / 2;

/** A square crop in source coordinates: [x0, x0 + side) × [y0, y0 + side). */
export interface FaceCrop {
  x0: number;
  y0: number;
  side: number;
}

/** Bounding box of interleaved [x, y, …] points (the first `count` points). */
export function landmarkBox(points: ArrayLike<number>, count = points.length / 2): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = points[2 * i],
      y = points[2 * i + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x0, y0, x1, y1 };
}

/** The framing crop of a face from its 68 iBUG points (any coordinate frame, continuous coordinates). */
export function faceCrop(points68: ArrayLike<number>): FaceCrop {
  const b = landmarkBox(points68, 68);
  const side = FACE_CROP_SCALE * Math.max(b.x1 - b.x0, b.y1 - b.y0);
  return { x0: (b.x0 + b.x1) / 2 - side / 2, y0: (b.y0 + b.y1) / 2 - side / 2, side };
}

/**
 * Framing statistics of one framed image: the 68-point box's larger side and its centre, as fractions of
 * the image side. The rule gives side = 1/1.4 ≈ 0.714 and centre (0.5, 0.5) exactly.
 */
export function framingOf(points68: ArrayLike<number>, imageSide: number): { side: number; cx: number; cy: number } {
  const b = landmarkBox(points68, 68);
  return {
    side: Math.max(b.x1 - b.x0, b.y1 - b.y0) / imageSide,
    cx: (b.x0 + b.x1) / 2 / imageSide,
    cy: (b.y0 + b.y1) / 2 / imageSide,
  };
}
