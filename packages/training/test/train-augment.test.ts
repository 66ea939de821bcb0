import { Rng } from "@lml/core";
import { describe, expect, it } from "vitest";
import { augmentBatch, type Batch } from "../src/data";

/** A 32×32 one-channel image, black but for a 3×3 white blob centred on pixel (px, py), and that point as landmark. */
function blob(px: number, py: number): Batch {
  const side = 32;
  const images = new Float32Array(side * side);
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) images[(py + dy) * side + px + dx] = 1;
  // Landmark 0 at the blob's centre (pixel centre = index + ½), landmark 1 elsewhere (its mirror twin).
  const landmarks = new Float32Array([px + 0.5, py + 0.5, 5, 6]);
  const l68 = new Float32Array(136).fill(16);
  return { size: 1, images, landmarks, visible: new Uint8Array([1, 0]), landmarks68: l68 };
}

/** Intensity-weighted centroid of the image (continuous coordinates). */
function centroid(img: Float32Array, side: number): [number, number] {
  let s = 0,
    x = 0,
    y = 0;
  for (let v = 0; v < side; v++)
    for (let u = 0; u < side; u++) {
      const w = img[v * side + u];
      s += w;
      x += w * (u + 0.5);
      y += w * (v + 0.5);
    }
  return [x / s, y / s];
}

describe("augmentation", () => {
  const mirror = Int32Array.from([1, 0]);
  const mirror68 = Int32Array.from({ length: 68 }, (_, i) => i);

  it("moves the landmarks with the image under rotation, scale and translation", () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 5; trial++) {
      const out = augmentBatch(blob(18, 12), 32, 1, mirror, mirror68, { flip: 0, rotation: 30, scale: 0.2, translate: 0.1 }, rng);
      const [cx, cy] = centroid(out.images, 32);
      expect(Math.hypot(cx - out.landmarks[0], cy - out.landmarks[1])).toBeLessThan(0.35);
    }
  });

  it("a flip mirrors the image and renumbers the points with the mirror pairs", () => {
    const out = augmentBatch(blob(20, 10), 32, 1, mirror, mirror68, { flip: 1, rotation: 0, scale: 0, translate: 0 }, new Rng(1));
    const [cx, cy] = centroid(out.images, 32);
    expect(cx).toBeCloseTo(32 - 20.5, 4);
    expect(cy).toBeCloseTo(10.5, 4);
    // Point 1 of the output is the flipped point 0 (x' = W − x), point 0 the flipped point 1.
    expect(Array.from(out.landmarks)).toEqual([32 - 5, 6, 32 - 20.5, 10.5]);
    expect(Array.from(out.visible)).toEqual([0, 1]);
  });
});
