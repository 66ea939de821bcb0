/**
 * Datasets: a fixed-length view of one (domain, split, seed) stream, streamed sample by sample or, with
 * `cacheDir`, pre-rendered once into a single binary file so that training never waits for rendering.
 * Cache file: "LMLSYNTH" magic, a uint32 header length, the JSON header (options, version, array sizes),
 * padding to 4 bytes, then images (f32), landmarks (f32), visible (u8, padded), landmarks68 (f32), poses (f64·3).
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "@lml/core";
import { GENERATOR_VERSION, renderSample } from "./render";
import { Rng } from "./rng";
import { resolveFaceModel, sfm } from "./face-model";
import type { Batch, Dataset, DatasetOptions, Sample } from "./types";

const MAGIC = "LMLSYNTH";
/** Layout version of the file (poses became f64 in 2, so a cached sample equals a rendered one bit for bit). */
const FORMAT = 2;

export function pointCount(o: { domain: string; scheme: number }): number {
  return o.domain === "proxy-real" ? 68 : o.scheme;
}

/** File name of the cached set: a hash of everything that changes its bytes. */
export function cacheKey(o: DatasetOptions): string {
  const fm = resolveFaceModel(o.faceModel ?? "auto");
  const model = fm === "sfm" ? `sfm:${sfm().fingerprint}` : fm;
  const key = JSON.stringify({ v: GENERATOR_VERSION, f: FORMAT, d: o.domain, s: o.split, n: o.count, seed: o.seed, size: o.size, c: o.channels, p: pointCount(o), m: model });
  return `${o.domain}-${o.split}-${fm}-${o.size}px-${pointCount(o)}pt-${o.count}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}.bin`;
}

interface Store { images: Float32Array; landmarks: Float32Array; visible: Uint8Array; landmarks68: Float32Array; poses: Float64Array }

function writeCache(path: string, o: DatasetOptions, s: Store): void {
  const header = Buffer.from(JSON.stringify({ version: GENERATOR_VERSION, format: FORMAT, options: { ...o, cacheDir: undefined }, faceModel: resolveFaceModel(o.faceModel ?? "auto"), count: o.count, points: pointCount(o) }));
  const pre = 8 + 4 + header.length;
  const pad = (4 - (pre % 4)) % 4;
  const vpad = (4 - (s.visible.length % 4)) % 4;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    writeSync(fd, Buffer.from(MAGIC));
    writeSync(fd, len);
    writeSync(fd, header);
    writeSync(fd, Buffer.alloc(pad));
    for (const a of [s.images, s.landmarks]) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    writeSync(fd, s.visible);
    writeSync(fd, Buffer.alloc(vpad));
    for (const a of [s.landmarks68, s.poses]) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path); // atomic: a reader never sees half a file
}

function readCache(path: string, o: DatasetOptions): Store | null {
  const buf = readFileSync(path);
  if (buf.subarray(0, 8).toString() !== MAGIC) return null;
  const hl = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + hl).toString()) as { version: string; format?: number; count: number; points: number };
  if (header.version !== GENERATOR_VERSION || header.format !== FORMAT || header.count !== o.count) return null;
  let off = 12 + hl;
  off += (4 - (off % 4)) % 4;
  // copy into an aligned ArrayBuffer so the typed views are valid whatever Buffer's pool offset is
  const ab = new ArrayBuffer(buf.length - off);
  new Uint8Array(ab).set(buf.subarray(off));
  let p = 0;
  const take = <T>(make: (b: ArrayBuffer, o: number, n: number) => T, n: number, bytes: number): T => {
    const v = make(ab, p, n);
    p += n * bytes;
    return v;
  };
  const n = o.count, px = o.size * o.size * o.channels, pts = header.points;
  const vbytes = n * pts + ((4 - ((n * pts) % 4)) % 4);
  if (ab.byteLength !== 4 * n * px + 8 * n * pts + vbytes + 4 * n * 136 + 24 * n) return null; // truncated or foreign: render again
  const images = take((b, q, k) => new Float32Array(b, q, k), n * px, 4);
  const landmarks = take((b, q, k) => new Float32Array(b, q, k), n * pts * 2, 4);
  const visible = take((b, q, k) => new Uint8Array(b, q, k), n * pts, 1);
  p += (4 - (p % 4)) % 4;
  const landmarks68 = take((b, q, k) => new Float32Array(b, q, k), n * 136, 4);
  const poses = take((b, q, k) => new Float64Array(b.slice(q, q + 8 * k)), n * 3, 8); // f64 need not be 8-aligned in the file
  return { images, landmarks, visible, landmarks68, poses };
}

function renderAll(o: DatasetOptions): Store {
  const n = o.count, px = o.size * o.size * o.channels, pts = pointCount(o);
  const s: Store = { images: new Float32Array(n * px), landmarks: new Float32Array(n * pts * 2), visible: new Uint8Array(n * pts), landmarks68: new Float32Array(n * 136), poses: new Float64Array(n * 3) };
  for (let i = 0; i < n; i++) {
    const r = renderSample({ domain: o.domain, split: o.split, index: i, seed: o.seed, size: o.size, channels: o.channels, scheme: o.scheme, faceModel: o.faceModel });
    s.images.set(r.image, i * px);
    s.landmarks.set(r.landmarks, i * pts * 2);
    s.visible.set(r.visible, i * pts);
    s.landmarks68.set(r.landmarks68, i * 136);
    s.poses.set([r.pose.yaw, r.pose.pitch, r.pose.roll], i * 3);
  }
  return s;
}

export function createDataset(o: DatasetOptions): Dataset {
  if (!Number.isInteger(o.count) || o.count <= 0) throw new UsageError(`count: expected a positive integer, got ${o.count}`);
  resolveFaceModel(o.faceModel ?? "auto"); // "sfm" without its files fails here, naming the folder
  const pts = pointCount(o), px = o.size * o.size * o.channels;
  let store: Store | null = null;
  if (o.cacheDir) {
    mkdirSync(o.cacheDir, { recursive: true });
    const path = join(o.cacheDir, cacheKey(o));
    if (existsSync(path)) store = readCache(path, o);
    if (!store) {
      store = renderAll(o);
      writeCache(path, o, store);
    }
  }
  const get = (i: number): Sample => {
    if (!Number.isInteger(i) || i < 0 || i >= o.count) throw new UsageError(`index ${i} is outside the dataset (0…${o.count - 1})`);
    if (!store) return renderSample({ domain: o.domain, split: o.split, index: i, seed: o.seed, size: o.size, channels: o.channels, scheme: o.scheme, faceModel: o.faceModel });
    const s = store;
    return {
      image: s.images.slice(i * px, (i + 1) * px),
      landmarks: s.landmarks.slice(i * pts * 2, (i + 1) * pts * 2),
      visible: s.visible.slice(i * pts, (i + 1) * pts),
      landmarks68: s.landmarks68.slice(i * 136, (i + 1) * 136),
      pose: { yaw: s.poses[3 * i], pitch: s.poses[3 * i + 1], roll: s.poses[3 * i + 2] },
    };
  };
  function* batches(batchSize: number, opts: { shuffle?: boolean; seed?: number } = {}): Iterable<Batch> {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new UsageError(`batchSize: expected a positive integer, got ${batchSize}`);
    const order = Array.from({ length: o.count }, (_, i) => i);
    if (opts.shuffle) {
      const rng = new Rng(opts.seed ?? o.seed);
      for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    }
    for (let start = 0; start < order.length; start += batchSize) {
      const ids = order.slice(start, start + batchSize);
      const b: Batch = { size: ids.length, images: new Float32Array(ids.length * px), landmarks: new Float32Array(ids.length * pts * 2), visible: new Uint8Array(ids.length * pts), landmarks68: new Float32Array(ids.length * 136) };
      ids.forEach((id, k) => {
        const s = get(id);
        b.images.set(s.image, k * px);
        b.landmarks.set(s.landmarks, k * pts * 2);
        b.visible.set(s.visible, k * pts);
        b.landmarks68.set(s.landmarks68, k * 136);
      });
      yield b;
    }
  }
  return { length: o.count, get, batches: (bs, opts) => batches(bs, opts) };
}
