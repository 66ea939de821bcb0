import type { FaceModelChoice } from "./face-model";

/** Which image/label style a sample has. "proxy-real" is SIMULATED: a stand-in for 300-W, not real photos. */
export type Domain = "synthetic" | "proxy-real";
/** 300-W-like splits plus a synthetic held-out test split; each split draws from its own seeded stream. */
export type Split = "train" | "test" | "common" | "challenging";

export interface SampleRequest {
  domain: Domain;
  split: Split;
  /** Sample number within the (seed, domain, split) stream; samples are independent of each other. */
  index: number;
  seed: number;
  /** Output side in pixels (64–256). */
  size: number;
  channels: 1 | 3;
  /** Number of dense points for "synthetic" (68 = iBug-compatible); ignored for "proxy-real" (always 68). */
  scheme: number;
  /** Face shape model: "auto" (default: the SFM when its files are present), "sfm" or "procedural". */
  faceModel?: FaceModelChoice;
}

export interface Sample {
  /** size·size·channels, HWC, values in [0, 1]. */
  image: Float32Array;
  /** 2·N pixel coords: N = scheme for "synthetic", 68 annotator-style points for "proxy-real". */
  landmarks: Float32Array;
  /** N flags: 1 = the point is seen (not self-occluded, not under an occluder). */
  visible: Uint8Array;
  /** 2·68: synthetic = the iBug-compatible surface definition; proxy-real = same as landmarks. */
  landmarks68: Float32Array;
  /** Head pose in degrees (yaw + = turned to the image's right, pitch + = looking up, roll + = clockwise). */
  pose: { yaw: number; pitch: number; roll: number };
}

/** B samples stacked: images B·H·W·C, landmarks B·N·2, visible B·N, landmarks68 B·68·2. */
export interface Batch {
  size: number;
  images: Float32Array;
  landmarks: Float32Array;
  visible: Uint8Array;
  landmarks68: Float32Array;
}

export interface DatasetOptions {
  domain: Domain;
  split: Split;
  count: number;
  seed: number;
  size: number;
  channels: 1 | 3;
  scheme: number;
  /** Face shape model (default "auto"); the cache key holds the model it resolves to. */
  faceModel?: FaceModelChoice;
  /** Folder for the pre-rendered set (one binary file keyed by the options, the resolved face model and GENERATOR_VERSION). */
  cacheDir?: string;
}

export interface Dataset {
  length: number;
  get(i: number): Sample;
  batches(batchSize: number, opts?: { shuffle?: boolean; seed?: number }): Iterable<Batch>;
}
