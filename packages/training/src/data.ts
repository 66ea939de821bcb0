/**
 * Data for the trainer: opening the synthetic and real splits a run uses, streaming their batches
 * epoch after epoch from a resumable position, augmenting batches (the same
 * random affine applied to image and landmarks, flips with the scheme's mirror pairs) and turning them
 * into tensors.
 *
 * Data sets are rendered from FIXED seeds per split (not the run seed): every run of a study sees the
 * same images (and the synth cache renders them once), so seeds vary only initialisation, shuffling and
 * augmentation, and every model is tested on the very same test faces. The validation sets likewise
 * come from a fixed split seed (`data.validation.seed`), disjoint from the training faces.
 *
 * Real datasets are read through core's datasets.ts: only inside the dataset roots (a path outside is a
 * UsageError, so the worker fails the run at once), splits from the folder's sub-folders or list files.
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import {
  Rng,
  UsageError,
  datasetRoots,
  loadFaces,
  openRealSplit,
  type Face,
  type FaceEntry,
  type RealFolderSource,
  type RunConfig,
} from "@lml/core";

/** One batch, as @lml/synth yields it (the 300-W loader is adapted to the same shape). */
export interface Batch {
  size: number;
  /** B·H·W·C in [0, 1]. */
  images: Float32Array;
  /** B·N·2 pixel coordinates (N = the scheme's count; 68 for real data). */
  landmarks: Float32Array;
  /** B·N, 1 = visible. */
  visible: ArrayLike<number>;
  /** B·68·2 iBug-compatible points of the same faces (pixel coordinates): normalisers and real labels. */
  landmarks68: Float32Array;
}

/** A split the trainer can iterate: `points` landmarks per face in `landmarks`. */
export interface BatchSource {
  readonly name: string;
  readonly length: number;
  readonly points: number;
  batches(batchSize: number, opts: { shuffle: boolean; seed: number }): Iterable<Batch> | AsyncIterable<Batch>;
}

/** Fixed data seeds per split (see the module comment). */
const SPLIT_SEEDS = { train: 101, test: 202, common: 303, challenging: 404 } as const;

/** @lml/synth, loaded on first use: the renderer is only needed when a split is actually opened. */
export async function synth(): Promise<typeof import("@lml/synth")> {
  return import("@lml/synth");
}

/** Where rendered data sets are cached: `$LML_DATA_DIR/synth` (default `.data/synth`). */
export function synthCacheDir(): string {
  return join(process.env.LML_DATA_DIR ?? ".data", "synth");
}

/** The synthetic split a run trains (`train`) or tests (`test`) on, with `config.data.scheme` points. */
export async function openSynthetic(config: RunConfig, split: "train" | "test"): Promise<BatchSource> {
  const count = split === "train" ? config.data.syntheticTrain : config.data.syntheticTest;
  return openGenerated(config, "synthetic", split, count, config.data.scheme);
}

/**
 * A split rendered by @lml/synth (cached on disk): the synthetic domain, or the simulated proxy-real one.
 * `seed` defaults to the split's fixed seed; validation sets draw the train split under their own.
 */
async function openGenerated(
  config: RunConfig,
  domain: "synthetic" | "proxy-real",
  split: keyof typeof SPLIT_SEEDS,
  count: number,
  points: number,
  seed: number = SPLIT_SEEDS[split],
  name = `${domain}-${split}`,
): Promise<BatchSource> {
  const { createDataset } = await synth();
  const ds = createDataset({
    domain,
    split,
    count,
    seed,
    size: config.model.inputSize,
    channels: config.model.inputChannels,
    scheme: config.data.scheme,
    faceModel: config.data.faceModel,
    cacheDir: synthCacheDir(),
  });
  return {
    name,
    length: ds.length,
    points,
    batches: (bs, opts) => ds.batches(bs, opts) as Iterable<Batch> | AsyncIterable<Batch>,
  };
}

export type RealSplit = "train" | "common" | "challenging";

/**
 * A real split: the 300-W dataset folder when `config.data.real.source === "300w"`, else the simulated
 * `proxy-real` domain of @lml/synth. Real faces carry 68 points (`points` = 68). A dataset without a
 * challenging split gives null for it: the run has no challenging evaluation (the tables say "no
 * data"); nothing else is put in its place.
 */
export async function openReal(config: RunConfig, split: "train" | "common"): Promise<BatchSource>;
export async function openReal(config: RunConfig, split: RealSplit): Promise<BatchSource | null>;
export async function openReal(config: RunConfig, split: RealSplit): Promise<BatchSource | null> {
  const count = split === "train" ? config.data.realTrain : split === "common" ? config.data.realCommon : config.data.realChallenging;
  const real = config.data.real;
  if (real.source === "300w") {
    const entries =
      split === "train" ? (await carved300W(config, real)).train : (await openRealSplit(real, split, datasetRoots()))?.entries;
    if (!entries) return null;
    return faceSource(config, `300w-${split}`, entries.slice(0, count));
  }
  return openGenerated(config, "proxy-real", split, count, 68);
}

/** Validation images of a generated domain: `fraction` of its train count, at least one when fraction > 0. */
export function validationCount(fraction: number, trainCount: number): number {
  return fraction > 0 ? Math.max(1, Math.round(fraction * trainCount)) : 0;
}

/**
 * Splits faces into validation and train by the validation split seed: shuffled by `seed`, the first
 * `fraction` of them (at least one) are held out; both parts keep name order. Independent of the run.
 */
export function carveValidation<T>(entries: readonly T[], fraction: number, seed: number): { train: T[]; val: T[] } {
  const k = validationCount(fraction, entries.length);
  if (k > 0 && k >= entries.length)
    throw new UsageError(`data.validation.fraction: ${fraction} of ${entries.length} training faces leaves none to train on`);
  const order = entries.map((_, i) => i);
  new Rng(seed).shuffle(order);
  const held = new Set(order.slice(0, k));
  return { train: entries.filter((_, i) => !held.has(i)), val: entries.filter((_, i) => held.has(i)) };
}

/** The 300-W dataset's train split, carved into validation and train faces (see RunConfig data.validation). */
async function carved300W(config: RunConfig, real: RealFolderSource): Promise<{ train: FaceEntry[]; val: FaceEntry[] }> {
  const split = await openRealSplit(real, "train", datasetRoots());
  const { fraction, seed } = config.data.validation;
  return carveValidation(split!.entries, fraction, seed);
}

/**
 * The validation sets (study.ts VALIDATION_SETS) of a run, each null when `data.validation.fraction` is 0:
 * `synthetic` drawn from the synthetic train generator under the validation seed; `real` carved from the
 * 300-W train split, or drawn from the proxy-real train generator under that seed.
 */
export async function openValidation(config: RunConfig): Promise<{ synthetic: BatchSource | null; real: BatchSource | null }> {
  const { fraction, seed } = config.data.validation;
  if (fraction === 0) return { synthetic: null, real: null };
  const taken = Object.entries(SPLIT_SEEDS).find(([, s]) => s === seed);
  if (taken)
    throw new UsageError(`data.validation.seed: ${seed} is the ${taken[0]} split's seed; validation faces must be other faces than those`);
  const synthetic = await openGenerated(
    config,
    "synthetic",
    "train",
    validationCount(fraction, config.data.syntheticTrain),
    config.data.scheme,
    seed,
    "synthetic-val",
  );
  const real = config.data.real;
  const realVal =
    real.source === "300w"
      ? await faceSource(config, "300w-real-val", (await carved300W(config, real)).val)
      : await openGenerated(config, "proxy-real", "train", validationCount(fraction, config.data.realTrain), 68, seed, "proxy-real-val");
  return { synthetic, real: realVal };
}

/** Loaded faces of a real dataset (core's loader, framed by the one rule) as a BatchSource, in name order. */
async function faceSource(config: RunConfig, name: string, entries: FaceEntry[]): Promise<BatchSource> {
  const faces: Face[] = await loadFaces(entries, { inputSize: config.model.inputSize, channels: config.model.inputChannels });
  const side = config.model.inputSize;
  const plane = side * side * config.model.inputChannels;
  return {
    name,
    length: faces.length,
    points: 68,
    *batches(batchSize, { shuffle, seed }) {
      const order = faces.map((_, i) => i);
      if (shuffle) new Rng(seed).shuffle(order);
      for (let start = 0; start < order.length; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        const images = new Float32Array(idx.length * plane);
        const landmarks = new Float32Array(idx.length * 136);
        idx.forEach((f, b) => {
          images.set(faces[f].image, b * plane);
          landmarks.set(faces[f].landmarks, b * 136);
        });
        yield { size: idx.length, images, landmarks, visible: new Uint8Array(idx.length * 68).fill(1), landmarks68: landmarks };
      }
    },
  };
}

/**
 * Batches of one epoch, skipping the first `skip` (to resume mid-epoch at exactly the batch where a
 * run stopped: the order depends only on `seed`).
 */
export async function* epochBatches(source: BatchSource, batchSize: number, seed: number, skip = 0, shuffle = true): AsyncGenerator<Batch> {
  let i = 0;
  for await (const batch of source.batches(batchSize, { shuffle, seed })) {
    if (i++ < skip) continue;
    yield batch;
  }
}

// ---------------------------------------------------------------------------------------------------
// Streams of batches across epochs
// ---------------------------------------------------------------------------------------------------

/** Shuffle seed of one epoch of one stream: a pure function of (run seed, stream, epoch). */
export function shuffleSeed(seed: number, stream: number, epoch: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

/** An endless stream over a split, epoch after epoch, whose position is (epoch, batch) for checkpoints. */
export class Stream {
  private it: AsyncGenerator<Batch> | null = null;
  constructor(
    private readonly source: BatchSource,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly id: number,
    public epoch: number,
    public batch: number,
  ) {}
  async next(): Promise<Batch> {
    for (let tries = 0; tries < 2; tries++) {
      if (!this.it) this.it = epochBatches(this.source, this.batchSize, shuffleSeed(this.seed, this.id, this.epoch), this.batch);
      const r = await this.it.next();
      if (!r.done) {
        this.batch += 1;
        return r.value;
      }
      this.it = null;
      this.epoch += 1;
      this.batch = 0;
    }
    throw new UsageError(`${this.source.name}: the split has no images`);
  }
}

/** Steps per epoch: whole batches of the labelled split (a split smaller than one batch is one step). */
export function stepsPerEpoch(length: number, batchSize: number): number {
  return Math.max(1, Math.floor(length / batchSize));
}

// ---------------------------------------------------------------------------------------------------
// Augmentation
// ---------------------------------------------------------------------------------------------------

export interface AugmentOptions {
  /** Flip probability, max rotation (degrees), max relative scale change, max translation (fraction). */
  flip: number;
  rotation: number;
  scale: number;
  translate: number;
}

/**
 * Random augmentation of a batch, per image: an optional horizontal flip, then rotation, scale and
 * translation about the image centre. The image is resampled bilinearly through the inverse map
 * (edge pixels repeat outside, so no artificial black borders tell the domains apart) and the
 * landmarks go through the forward map, in the continuous frame where pixel i covers [i, i+1). A flip
 * also renumbers the points with `mirror` (a left eye corner stays a left eye corner); `mirror68` does
 * the same for `landmarks68`. Returns a new batch; the input is not modified.
 */
export function augmentBatch(
  batch: Batch,
  side: number,
  channels: number,
  mirror: Int32Array,
  mirror68: Int32Array,
  opts: AugmentOptions,
  rng: Rng,
): Batch {
  const b = batch.size;
  const n = batch.landmarks.length / (2 * b);
  const images = new Float32Array(batch.images.length);
  const landmarks = new Float32Array(batch.landmarks.length);
  const landmarks68 = new Float32Array(batch.landmarks68.length);
  const visible = Float32Array.from(batch.visible);
  const c = side / 2;
  const plane = side * side * channels;
  for (let s = 0; s < b; s++) {
    const flip = rng.next() < opts.flip;
    const theta = (rng.uniform(-1, 1) * opts.rotation * Math.PI) / 180;
    const k = 1 + rng.uniform(-1, 1) * opts.scale;
    const tx = rng.uniform(-1, 1) * opts.translate * side;
    const ty = rng.uniform(-1, 1) * opts.translate * side;
    const cos = Math.cos(theta) * k;
    const sin = Math.sin(theta) * k;
    // forward: p' = c + A·(F(p) − c) + t, A = k·R(θ), F = optional flip x → side − x.
    const fwd = (x: number, y: number): [number, number] => {
      const fx = (flip ? side - x : x) - c;
      const fy = y - c;
      return [c + cos * fx - sin * fy + tx, c + sin * fx + cos * fy + ty];
    };
    const det = cos * cos + sin * sin;
    // inverse: F⁻¹(c + A⁻¹(q − c − t)).
    const inv = (x: number, y: number): [number, number] => {
      const qx = x - c - tx;
      const qy = y - c - ty;
      const px = (cos * qx + sin * qy) / det + c;
      const py = (-sin * qx + cos * qy) / det + c;
      return [flip ? side - px : px, py];
    };
    const src = s * plane;
    for (let v = 0; v < side; v++)
      for (let u = 0; u < side; u++) {
        const [px, py] = inv(u + 0.5, v + 0.5);
        // Continuous → pixel-index coordinates (pixel centres at integers), clamped to the edge.
        const fx = Math.min(Math.max(px - 0.5, 0), side - 1);
        const fy = Math.min(Math.max(py - 0.5, 0), side - 1);
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const x1 = Math.min(x0 + 1, side - 1);
        const y1 = Math.min(y0 + 1, side - 1);
        const ax = fx - x0;
        const ay = fy - y0;
        for (let ch = 0; ch < channels; ch++) {
          const at = (yy: number, xx: number) => batch.images[src + (yy * side + xx) * channels + ch];
          images[src + (v * side + u) * channels + ch] =
            (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1)) + ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1));
        }
      }
    const move = (from: Float32Array, to: Float32Array, count: number, perm: Int32Array, vis?: Float32Array) => {
      for (let i = 0; i < count; i++) {
        const j = flip ? perm[i] : i;
        const [x, y] = fwd(from[2 * (s * count + j)], from[2 * (s * count + j) + 1]);
        to[2 * (s * count + i)] = x;
        to[2 * (s * count + i) + 1] = y;
        if (vis) vis[s * count + i] = batch.visible[s * count + j];
      }
    };
    move(batch.landmarks, landmarks, n, mirror, visible);
    move(batch.landmarks68, landmarks68, 68, mirror68);
  }
  return { size: b, images, landmarks, visible, landmarks68 };
}

/** Images as a B×S×S×C tensor. */
export function imageTensor(batch: Batch, side: number, channels: number): tf.Tensor4D {
  return tf.tensor4d(batch.images, [batch.size, side, side, channels]);
}

/** Pixel landmarks (B·N·2) → B×N×2 in image-side units, the model's coordinate frame. */
export function coordTensor(landmarks: Float32Array, size: number, side: number): tf.Tensor3D {
  const n = landmarks.length / (2 * size);
  return tf.tidy(() => tf.div(tf.tensor3d(landmarks, [size, n, 2]), side) as tf.Tensor3D);
}
