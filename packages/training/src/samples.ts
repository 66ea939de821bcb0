/**
 * Sample-prediction strips: the first few images of a test split side by side, upscaled so a 64 px face
 * is readable, with the ground truth and the model's prediction drawn as dots in two colours. One PNG
 * per test set, stored as a "samples" artifact that the dashboard's Run page shows.
 *
 * The image is upscaled with nearest-neighbour (the pixels the model actually saw, no invented detail)
 * and the points are an SVG overlay per tile, so a point predicted outside its face is cut at the tile's
 * edge instead of landing on the neighbouring face. Everything is deterministic: same inputs, same bytes.
 */
import sharp from "sharp";

/** What one strip shows; all arrays in the trainer's conventions (HWC images in [0, 1], pixel points). */
export interface SampleSet {
  testSet: string;
  /** The protocol the predicted points come from (the study table's row for this test set). */
  protocol: string;
  count: number;
  side: number;
  channels: number;
  /** count·side·side·channels. */
  images: Float32Array;
  /** count·gtPoints·2. */
  gt: Float32Array;
  gtPoints: number;
  /** count·predPoints·2. */
  pred: Float32Array;
  predPoints: number;
}

export interface SampleArtifact {
  kind: "samples";
  name: string;
  mime: "image/png";
  bytes: Uint8Array;
}

export const GT_COLOUR = "#00e05a";
export const PRED_COLOUR = "#ff1f4b";
/** Upscale factor: 64 px faces become 256 px tiles. */
export const SAMPLE_SCALE = 4;
/** Native pixels of white between two tiles. */
export const SAMPLE_GAP = 1;

/** Dot radius in output pixels: dense schemes get small dots so neighbouring points stay apart. */
function dotRadius(points: number): number {
  return points > 100 ? 1.25 : 2.25;
}

function dots(shape: Float32Array, offset: number, points: number, scale: number, colour: string): string {
  const r = dotRadius(points);
  let s = "";
  for (let i = 0; i < points; i++) {
    const x = shape[offset + 2 * i] * scale;
    const y = shape[offset + 2 * i + 1] * scale;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    s += `<circle cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="${r}"/>`;
  }
  return `<g fill="${colour}">${s}</g>`;
}

/**
 * Renders one strip PNG: tile `i` is image `i` upscaled `scale`×, GT dots under prediction dots.
 * Size: (count·side + (count−1)·gap)·scale × side·scale, RGB.
 */
export async function renderSampleStrip(set: SampleSet, opts: { scale?: number; gap?: number } = {}): Promise<Uint8Array> {
  const scale = opts.scale ?? SAMPLE_SCALE;
  const gap = opts.gap ?? SAMPLE_GAP;
  const { count, side, channels } = set;
  if (count < 1) throw new Error(`samples ${set.testSet}: no images`);
  const width = count * side + (count - 1) * gap;
  // Native-resolution RGB strip; grey inputs are repeated into three channels so the dots keep their colour.
  const raw = Buffer.alloc(width * side * 3, 255);
  for (let n = 0; n < count; n++)
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const src = ((n * side + y) * side + x) * channels;
        const dst = (y * width + n * (side + gap) + x) * 3;
        for (let c = 0; c < 3; c++) {
          const v = set.images[src + (channels === 1 ? 0 : c)];
          raw[dst + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
      }
  const big = await sharp(raw, { raw: { width, height: side, channels: 3 } })
    .resize(width * scale, side * scale, { kernel: "nearest" })
    .raw()
    .toBuffer();
  const tile = side * scale;
  const overlays = Array.from({ length: count }, (_, n) => {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${tile}" height="${tile}">` +
      dots(set.gt, n * set.gtPoints * 2, set.gtPoints, scale, GT_COLOUR) +
      dots(set.pred, n * set.predPoints * 2, set.predPoints, scale, PRED_COLOUR) +
      `</svg>`;
    return { input: Buffer.from(svg), left: n * (side + gap) * scale, top: 0 };
  });
  const png = await sharp(big, { raw: { width: width * scale, height: tile, channels: 3 } })
    .composite(overlays)
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** The artifacts of a run's sample sets: `samples-<testSet>-<protocol>.png`, one per set. */
export async function sampleArtifacts(sets: SampleSet[]): Promise<SampleArtifact[]> {
  const out: SampleArtifact[] = [];
  for (const set of sets)
    out.push({
      kind: "samples",
      name: `samples-${set.testSet}-${set.protocol}.png`,
      mime: "image/png",
      bytes: await renderSampleStrip(set),
    });
  return out;
}
