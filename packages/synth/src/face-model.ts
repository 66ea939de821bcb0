/**
 * Which face shape model the generator uses — a recorded, explicit choice:
 * - "sfm": the Surrey Face Model (a PCA model learned from real 3D scans), read from `LML_FACE_MODEL` or
 *   `../shared/models/sfm` beside the repository; an error when absent;
 * - "procedural": the built-in parametric head (no files needed);
 * - "auto": "sfm" when its files are there, else "procedural".
 * Datasets, schemes and the cache key use the RESOLVED model, so two machines that resolve "auto"
 * differently never share cached images or landmark templates.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FACE_MODELS, UsageError } from "@lml/core";
import { SFM_FILES, loadSfm, type SfmModel } from "./sfm";

/** The choices are core's RunConfig vocabulary (data.faceModel). */
export const FACE_MODEL_CHOICES = FACE_MODELS;
export type FaceModelChoice = (typeof FACE_MODELS)[number];
export type FaceModelKind = Exclude<FaceModelChoice, "auto">;

/** The repository root: the folder above this package (…/packages/synth/src → …), else the nearest folder up from cwd holding packages/synth. */
function repoRoots(): string[] {
  const out: string[] = [];
  try {
    out.push(resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", ".."));
  } catch {
    // bundled code has no file URL
  }
  let d = process.cwd();
  for (let k = 0; k < 8; k++) {
    if (existsSync(join(d, "packages", "synth", "package.json"))) out.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

/** The folder the SFM is read from (whether or not it holds the files), and where that came from. */
export function faceModelDir(): { dir: string; from: string } {
  const env = process.env.LML_FACE_MODEL;
  if (env) return { dir: resolve(env), from: "LML_FACE_MODEL" };
  const roots = repoRoots();
  for (const r of roots) {
    const dir = resolve(r, "..", "shared", "models", "sfm");
    if (existsSync(join(dir, SFM_FILES.shape))) return { dir, from: "../shared/models/sfm" };
  }
  return { dir: resolve(roots[0] ?? process.cwd(), "..", "shared", "models", "sfm"), from: "../shared/models/sfm" };
}

const present = new Map<string, boolean>();
/** Whether the SFM files are present (the shape model and the blendshapes at least); looked up once per folder. */
export function sfmAvailable(): boolean {
  const key = `${process.env.LML_FACE_MODEL ?? ""}|${process.cwd()}`;
  let p = present.get(key);
  if (p === undefined) {
    const { dir } = faceModelDir();
    p = existsSync(join(dir, SFM_FILES.shape)) && existsSync(join(dir, SFM_FILES.blendshapes));
    present.set(key, p);
  }
  return p;
}

export function parseFaceModelChoice(v: unknown, field = "faceModel"): FaceModelChoice {
  if (v === undefined) return "auto";
  if (typeof v === "string" && (FACE_MODEL_CHOICES as readonly string[]).includes(v)) return v as FaceModelChoice;
  throw new UsageError(`${field}: expected auto, sfm or procedural, got ${JSON.stringify(v)}`);
}

/** The model a choice resolves to on this machine ("sfm" requested but absent is an error naming the folder). */
export function resolveFaceModel(choice: FaceModelChoice = "auto"): FaceModelKind {
  const c = parseFaceModelChoice(choice);
  if (c === "procedural") return "procedural";
  if (sfmAvailable()) return "sfm";
  if (c === "sfm") {
    const { dir, from } = faceModelDir();
    throw new UsageError(`faceModel "sfm": the Surrey Face Model is not in ${dir} (from ${from}); set LML_FACE_MODEL to its folder or choose "procedural"`);
  }
  return "procedural";
}

let sfmCache: SfmModel | null = null;
/** The parsed SFM (once per process). */
export function sfm(): SfmModel {
  const { dir } = faceModelDir();
  if (!sfmCache || sfmCache.dir !== dir) sfmCache = loadSfm(dir);
  return sfmCache;
}
