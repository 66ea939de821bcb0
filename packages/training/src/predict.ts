/**
 * Predicting landmarks on new images with a trained run (`lml predict`): the run's final weights (its
 * checkpoint) and, for the test-time-mlp protocol, the MLP its final evaluation fitted and kept
 * (test-time-mlp.ts), applied exactly as the evaluation applied them — the same image reading (core's
 * `readImageResized`, the way the loader reads a face crop cut by the framing rule), the same batches
 * (`eval.batchSize`, name order) and the same protocols (evaluate.ts) — so predictions written here and
 * scored by `lml eval` reproduce the NME the run stored for the same images.
 *
 * Images are face crops framed like the training data (core face-framing.ts: the 68-point box 1/1.4 of
 * the image, centred; ../shared/datasets/300w128 is cut that way). A non-square image is stretched to
 * the model's square input and the points stretched back.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import {
  IMAGE_EXT,
  PTS_TO_PIXEL_OFFSET,
  UsageError,
  bestProtocol,
  formatPts,
  modelPoints,
  parseRunConfig,
  readImageResized,
  regimeTraits,
  selectSubset,
  type RunConfig,
} from "@lml/core";
import { getArtifact, loadCheckpoint, type PrismaClient } from "@lml/db";
import sharp from "sharp";
import type { LabelTransferMLP } from "./adaptation/transfer";
import { initBackend } from "./backend/select";
import { decodeCheckpoint } from "./checkpoint";
import type { Batch, BatchSource } from "./data";
import { applyMlp, predictSplit } from "./evaluate";
import { buildNets, disposeNets, mirrorsFor, nearestSubsetFor, type Nets } from "./nets";
import { createOptimiser } from "./optim";
import { loadState } from "./state";
import { MODEL_ARTIFACT_KIND, TEST_TIME_MLP_FILE, decodeTestTimeMlp } from "./test-time-mlp";

/** The 68-point protocols `lml predict` can apply (core's PROTOCOLS without `dense`, which is not 68-point). */
export const PREDICT_PROTOCOLS = ["nearest-subset", "test-time-mlp", "direct"] as const;
export type PredictProtocol = (typeof PREDICT_PROTOCOLS)[number];

/** What a trained run leaves for prediction, wherever it is stored. */
export interface PredictorSource {
  /** For messages: "--checkpoint out/run" or "run <name>". */
  where: string;
  config: RunConfig;
  checkpoint: Uint8Array;
  /** The kept test-time MLP (absent: the run cannot serve test-time-mlp). */
  testTimeMlp?: Uint8Array;
  /** The NMEs the run stored (evaluations.json, or the run's Evaluation rows), when known. */
  evaluations?: { testSet: string; protocol: string; norm: string; nme: number; count: number }[];
}

const CHECKPOINT_FILE = "checkpoint.bin";
const SUMMARY_FILE = "evaluations.json";

async function readIfThere(path: string): Promise<Uint8Array | undefined> {
  return existsSync(path) ? new Uint8Array(await readFile(path)) : undefined;
}

/** The config a checkpoint carries (written since issue 12), else the one of evaluations.json beside it. */
function checkpointConfig(bytes: Uint8Array, where: string, summary: { config?: unknown } | null): RunConfig {
  let meta: { config?: unknown };
  try {
    meta = decodeCheckpoint<{ config?: unknown }>(bytes).meta;
  } catch {
    throw new UsageError(`${where}: not a Landmark Lab checkpoint`);
  }
  const raw = meta.config ?? summary?.config;
  if (!raw) throw new UsageError(`${where}: the checkpoint holds no config and no ${SUMMARY_FILE} is beside it`);
  return parseRunConfig(raw, `${where}: config`);
}

/**
 * The folder `lml train --out` wrote (checkpoint.bin, evaluations.json, test-time-mlp.bin), or a
 * checkpoint file (its config from inside it or from evaluations.json beside it; the MLP from
 * test-time-mlp.bin beside it).
 */
export async function predictorFromPath(path: string): Promise<PredictorSource> {
  const where = `--checkpoint ${path}`;
  const info = await stat(path).catch(() => null);
  if (!info) throw new UsageError(`${where}: no such file or folder`);
  const folder = info.isDirectory() ? path : dirname(path);
  const file = info.isDirectory() ? join(path, CHECKPOINT_FILE) : path;
  const checkpoint = await readIfThere(file);
  if (!checkpoint) throw new UsageError(`${where}: no ${CHECKPOINT_FILE} in the folder (train into it with lml train --out)`);
  const summaryPath = join(folder, SUMMARY_FILE);
  let summary: { config?: unknown; evaluations?: PredictorSource["evaluations"] } | null = null;
  if (existsSync(summaryPath)) {
    try {
      summary = JSON.parse(await readFile(summaryPath, "utf8"));
    } catch {
      throw new UsageError(`${summaryPath}: not valid JSON`);
    }
  }
  const config = checkpointConfig(checkpoint, where, summary);
  return { where, config, checkpoint, testTimeMlp: await readIfThere(join(folder, TEST_TIME_MLP_FILE)), evaluations: summary?.evaluations };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run of the database by id or name (the newest of that name): its config, final checkpoint, kept MLP and evaluations. */
export async function predictorFromRun(prisma: PrismaClient, ref: string): Promise<PredictorSource> {
  const select = { id: true, name: true, status: true, config: true } as const;
  const run =
    (UUID_RE.test(ref) ? await prisma.run.findUnique({ where: { id: ref }, select }) : null) ??
    (await prisma.run.findFirst({ where: { name: ref }, orderBy: { createdAt: "desc" }, select }));
  if (!run) throw new UsageError(`--run ${ref}: no run with that id or name`);
  const where = `run ${run.name}`;
  if (run.status !== "SUCCEEDED") throw new UsageError(`--run ${ref}: the run is ${run.status}; only a finished (SUCCEEDED) run predicts`);
  const stored = await loadCheckpoint(prisma, run.id);
  const checkpoint = stored?.bytes ?? (stored?.path ? await readIfThere(stored.path) : undefined);
  if (!checkpoint)
    throw new UsageError(`--run ${ref}: the run's checkpoint is not stored${stored?.path ? ` (${stored.path} is missing)` : ""}`);
  const mlp = await getArtifact(prisma, { runId: run.id, kind: MODEL_ARTIFACT_KIND, name: TEST_TIME_MLP_FILE });
  const evaluations = await prisma.evaluation.findMany({
    where: { runId: run.id },
    select: { testSet: true, protocol: true, norm: true, nme: true, count: true },
  });
  return {
    where,
    config: parseRunConfig(run.config, `${where}: config`),
    checkpoint: new Uint8Array(checkpoint),
    testTimeMlp: mlp?.bytes ? new Uint8Array(mlp.bytes) : undefined,
    evaluations,
  };
}

/** A trained run, loaded for inference. */
export interface Predictor {
  config: RunConfig;
  nets: Nets;
  mlp?: LabelTransferMLP;
  /** The 68-point protocols this run serves, and the best of them (core's bestProtocol). */
  protocols: PredictProtocol[];
  best: PredictProtocol;
  dispose(): void;
}

/** Builds the run's networks and loads its weights (state.ts, as a resume does) and its kept test-time MLP. */
export async function loadPredictor(src: PredictorSource): Promise<Predictor> {
  await initBackend();
  const { config } = src;
  // The iBUG → model-point subset the run used: kept with its test-time MLP; else recomputed as train() does
  // (nearestSubsetFor takes the face model since issue 14; the cast accepts either signature).
  const kept = src.testTimeMlp ? decodeTestTimeMlp(src.testTimeMlp, `${src.where}: ${TEST_TIME_MLP_FILE}`) : undefined;
  kept?.mlp.dispose();
  const subsetFor = nearestSubsetFor as (points: number, faceModel?: RunConfig["data"]["faceModel"]) => Promise<Int32Array>;
  const subset = kept
    ? Int32Array.from(kept.meta.subset)
    : await subsetFor(modelPoints(config.regime, config.data.scheme), config.data.faceModel);
  const nets = buildNets(config, subset);
  const opt = createOptimiser(config, nets.variables);
  let mlp: LabelTransferMLP | undefined;
  try {
    const step = loadState(config, nets, opt, src.checkpoint).step;
    if (src.testTimeMlp) {
      const decoded = decodeTestTimeMlp(src.testTimeMlp, `${src.where}: ${TEST_TIME_MLP_FILE}`);
      mlp = decoded.mlp;
      // fitted to other weights (a run trained on after its evaluation): it would not be the stored protocol
      if (decoded.meta.step !== step || decoded.meta.inPoints !== nets.model.config.landmarks) {
        mlp.dispose();
        mlp = undefined;
      }
    }
  } catch (err) {
    disposeNets(nets);
    throw err;
  } finally {
    opt.dispose();
  }
  const is68 = regimeTraits(config.regime).predicts === "ibug68";
  const protocols: PredictProtocol[] = [
    "nearest-subset",
    ...(mlp ? (["test-time-mlp"] as const) : []),
    ...(is68 || nets.transfer ? (["direct"] as const) : []),
  ];
  return {
    config,
    nets,
    mlp,
    protocols,
    best: bestProtocol(protocols) as PredictProtocol,
    dispose() {
      mlp?.dispose();
      disposeNets(nets);
    },
  };
}

/** The images of a folder (recursively; .jpg/.jpeg/.png), by relative name without extension, in name order. */
export async function listImages(dir: string): Promise<{ name: string; path: string }[]> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`--images ${dir}: not a folder`);
  const found = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile() && IMAGE_EXT.test(d.name))
    .map((d) => {
      const path = join(d.parentPath, d.name);
      return { name: relative(dir, path).split(sep).join("/").replace(IMAGE_EXT, ""), path };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (found.length === 0) throw new UsageError(`--images ${dir}: no .jpg, .jpeg or .png images`);
  const seen = new Map<string, string>();
  for (const f of found) {
    if (seen.has(f.name)) throw new UsageError(`--images ${dir}: two images for "${f.name}" (${seen.get(f.name)} and ${f.path})`);
    seen.set(f.name, f.path);
  }
  return found;
}

export interface PredictOptions {
  images: string;
  out: string;
  /** Default: the run's best available protocol. */
  protocol?: string;
  /** Also write the model's own (dense) points: `<name>.dense.json`. */
  dense?: boolean;
  /** Also write `<name>.overlay.png`: the image with the points drawn. */
  overlay?: boolean;
  onProgress?(done: number, total: number): void;
}

export interface PredictOutcome {
  protocol: PredictProtocol;
  images: number;
  /** Points per dense file (the model's scheme), when --dense. */
  densePoints?: number;
}

/** Checks the protocol against what the run serves (a UsageError naming what it does serve). */
export function chooseProtocol(p: Predictor, asked: string | undefined, where: string): PredictProtocol {
  if (asked === undefined) return p.best;
  if (!(PREDICT_PROTOCOLS as readonly string[]).includes(asked))
    throw new UsageError(`--protocol: expected ${PREDICT_PROTOCOLS.join(", ")}, got ${JSON.stringify(asked)}`);
  if (!p.protocols.includes(asked as PredictProtocol)) {
    const why =
      asked === "test-time-mlp"
        ? "it kept no test-time MLP (trained before issue 12, or not finished)"
        : `its model (${p.config.regime}) has no 68-point output of its own`;
    throw new UsageError(`--protocol ${asked}: ${where} cannot serve it: ${why}; it serves ${p.protocols.join(", ")}`);
  }
  return asked as PredictProtocol;
}

/** `.pts` text of points in this project's pixel convention: written 1-based, as 300-W files are. */
function ptsText(points: ArrayLike<number>): string {
  return formatPts(Float32Array.from(points, (v) => v - PTS_TO_PIXEL_OFFSET));
}

/** The image with the points drawn (68: green dots; dense: small orange ones), as PNG. */
async function overlayPng(path: string, width: number, height: number, p68: Float32Array, dense?: Float32Array): Promise<Buffer> {
  const r = Math.max(1.5, Math.min(width, height) / 90);
  const dots = (pts: Float32Array, radius: number, colour: string) =>
    Array.from(
      { length: pts.length / 2 },
      (_, i) => `<circle cx="${pts[2 * i].toFixed(2)}" cy="${pts[2 * i + 1].toFixed(2)}" r="${radius.toFixed(2)}" fill="${colour}"/>`,
    ).join("");
  const svg = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${dense ? dots(dense, r * 0.5, "#ff9f1c") : ""}${dots(p68, r, "#00e05a")}</svg>`;
  return sharp(path)
    .removeAlpha()
    .toColourspace("srgb")
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/**
 * Predicts every image of `images` and writes `<name>.pts` (68 iBUG points, the image's pixels, 1-based)
 * under `out`, keeping sub-folders; with `dense` also `<name>.dense.json`, with `overlay` `<name>.overlay.png`.
 * Every image is read before anything is written, so an unreadable one (a UsageError naming it) leaves
 * no partial output.
 */
export async function predictFolder(p: Predictor, opts: PredictOptions, where: string): Promise<PredictOutcome> {
  const protocol = chooseProtocol(p, opts.protocol, where);
  const { config, nets } = p;
  const side = config.model.inputSize;
  const channels = config.model.inputChannels;
  const k = nets.model.config.landmarks;
  const is68 = regimeTraits(config.regime).predicts === "ibug68";
  if (opts.dense && is68) throw new UsageError(`--dense: ${where} predicts the 68 points only (${config.regime}); it has no dense points`);
  const files = await listImages(opts.images);
  const total = files.length;
  const plane = side * side * channels;
  const pixels = new Float32Array(total * plane);
  const sizes: { width: number; height: number }[] = [];
  for (const [i, f] of files.entries()) {
    const img = await readImageResized(f.path, side, channels);
    pixels.set(img.image, i * plane);
    sizes.push({ width: img.width, height: img.height });
    opts.onProgress?.(i + 1, 2 * total);
  }
  // The images as a split, batched like the evaluation's (predictSplit: eval.batchSize, in order).
  let done = 0;
  const source: BatchSource = {
    name: "images",
    length: total,
    points: 68,
    *batches(bs: number) {
      for (let s = 0; s < total; s += bs) {
        const n = Math.min(bs, total - s);
        const landmarks = new Float32Array(n * 136);
        yield {
          size: n,
          images: pixels.subarray(s * plane, (s + n) * plane),
          landmarks,
          landmarks68: landmarks,
          visible: new Uint8Array(n * 68),
        } as Batch;
        done += n;
        opts.onProgress?.(total + done, 2 * total);
      }
    },
  };
  // Flip-test as the run's evaluation did it (eval.flipTest), so predictions match its stored scores.
  const flip = config.eval.flipTest ? await mirrorsFor(k, config.data.faceModel) : undefined;
  const pred = await predictSplit(nets.model, source, { side, channels, batchSize: config.eval.batchSize, transfer: nets.transfer, flip });
  const model68 =
    protocol === "nearest-subset"
      ? selectSubset(pred.pred, k, nets.subset)
      : protocol === "test-time-mlp"
        ? applyMlp(p.mlp!, pred.pred, k, side)
        : is68
          ? pred.pred
          : pred.direct!;
  await mkdir(opts.out, { recursive: true });
  for (const [i, f] of files.entries()) {
    const { width, height } = sizes[i];
    // model pixels [0, side) → image pixels [0, W) × [0, H)
    const toImage = (pts: Float32Array, count: number, from: number) =>
      Float32Array.from({ length: 2 * count }, (_, j) => (pts[from + j] * (j % 2 === 0 ? width : height)) / side);
    const p68 = toImage(model68, 68, i * 136);
    const base = join(opts.out, ...f.name.split("/"));
    await mkdir(dirname(base), { recursive: true });
    await writeFile(`${base}.pts`, ptsText(p68));
    const dense = opts.dense ? toImage(pred.pred, k, i * 2 * k) : undefined;
    if (dense)
      await writeFile(
        `${base}.dense.json`,
        JSON.stringify({
          points: k,
          scheme: `synthetic ${k}-point dense scheme`,
          convention: "image pixels, 1-based like .pts",
          xy: Array.from(dense, (v) => +(v - PTS_TO_PIXEL_OFFSET).toFixed(4)),
        }) + "\n",
      );
    if (opts.overlay) await writeFile(`${base}.overlay.png`, await overlayPng(f.path, width, height, p68, dense));
  }
  return { protocol, images: total, densePoints: opts.dense ? k : undefined };
}
