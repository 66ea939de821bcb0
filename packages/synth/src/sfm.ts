/**
 * The Surrey Face Model (SFM, shape level 3,448 vertices; Huber et al., VISAPP 2016), read at run time from
 * `../shared/models/sfm` (relative to the repository root) or the folder in `LML_FACE_MODEL`; it is never
 * copied into the repository (non-commercial research use only).
 *
 * Files (layout in that folder's SOURCE.md; eos's cereal binary archive, little-endian):
 * - `sfm_shape_3448.bin`: uint32 class version, then the shape PcaModel: mean (int32 rows, int32 cols,
 *   rows·cols float32), orthonormal basis (10344 × 63, column-major), eigenvalues (63), triangle list
 *   (uint64 count, then count × 3 int32); the (empty) colour model and texture coordinates follow.
 * - `expression_blendshapes_3448.bin`: uint64 count, then per shape a string (uint64 length + bytes) and a
 *   deformation vector (int32 rows, int32 cols, float32 values).
 * - `ibug_to_sfm.txt`: iBUG68 point (1-based) → vertex; `sfm_model_contours.json`: the face contour vertices.
 * Units are millimetres; x = the subject's left, y up, z out of the face.
 *
 * cereal has no JavaScript reader, so this is a small hand-written reader of exactly these records.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "@lml/core";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";

export const SFM_FILES = {
  shape: "sfm_shape_3448.bin",
  blendshapes: "expression_blendshapes_3448.bin",
  ibug: "ibug_to_sfm.txt",
  contours: "sfm_model_contours.json",
} as const;

export interface SfmModel {
  dir: string;
  /** Vertex count (3,448). */
  nv: number;
  /** Mean shape, 3 per vertex (mm). */
  mean: Float32Array;
  /** Orthonormal PCA basis, component-major: basis[c·3nv + k]; a face is mean + Σ_c α_c·√λ_c·basis_c. */
  basis: Float32Array;
  eigenvalues: Float32Array;
  /** 3 vertex indices per triangle (front faces counter-clockwise seen from +z). */
  triangles: Uint32Array;
  /** Expression blendshapes: names and deformations (component-major, 3nv each). */
  blendshapeNames: string[];
  blendshapes: Float32Array;
  /** iBUG68 point (0-based) → vertex; −1 where the mapping leaves it out (jaw 0–7/9–16, inner mouth corners). */
  ibug: Int32Array;
  /** Contour vertices of the subject's right and left face side, from the temple down to the chin. */
  contours: { right: number[]; left: number[] };
  /** Hash of the four files' bytes: keys any cache built from them. */
  fingerprint: string;
}

class Reader {
  off = 0;
  constructor(readonly buf: Buffer, readonly file: string) {}
  need(n: number, what: string): void {
    if (this.off + n > this.buf.length) throw new UsageError(`${this.file}: ends inside ${what} (offset ${this.off}, ${this.buf.length} bytes)`);
  }
  u32(what: string): number { this.need(4, what); const v = this.buf.readUInt32LE(this.off); this.off += 4; return v; }
  i32(what: string): number { this.need(4, what); const v = this.buf.readInt32LE(this.off); this.off += 4; return v; }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${this.file}: ${what} count ${v} is not plausible`);
    return Number(v);
  }
  /** An Eigen matrix as eos serialises it: int32 rows, int32 cols, rows·cols float32 (column-major). */
  matrix(what: string, rows?: number, cols?: number): { rows: number; cols: number; data: Float32Array } {
    const r = this.i32(`${what} rows`), c = this.i32(`${what} cols`);
    if (r < 0 || c < 0 || (rows !== undefined && r !== rows) || (cols !== undefined && c !== cols))
      throw new UsageError(`${this.file}: ${what} is ${r}×${c}, expected ${rows ?? "any"}×${cols ?? "any"}`);
    this.need(4 * r * c, what);
    const data = new Float32Array(r * c);
    for (let k = 0; k < data.length; k++) data[k] = this.buf.readFloatLE(this.off + 4 * k);
    this.off += 4 * r * c;
    return { rows: r, cols: c, data };
  }
  string(what: string): string {
    const n = this.u64(`${what} length`);
    if (n > 4096) throw new UsageError(`${this.file}: ${what} length ${n} is not plausible`);
    this.need(n, what);
    const s = this.buf.toString("utf8", this.off, this.off + n);
    this.off += n;
    return s;
  }
}

function readFile(dir: string, name: string): Buffer {
  const path = join(dir, name);
  if (!existsSync(path)) throw new UsageError(`face model ${dir}: missing ${name} (set LML_FACE_MODEL to a folder with the Surrey Face Model files, or use faceModel "procedural")`);
  return readFileSync(path);
}

const ContoursSchema = z.object({
  model_contour: z.object({ right_contour: z.array(z.number().int().min(0)).min(2), left_contour: z.array(z.number().int().min(0)).min(2) }),
});
const IbugSchema = z.object({ landmark_mappings: z.record(z.string().regex(/^\d+$/), z.number().int().min(0)) });

/** Parses the SFM files of `dir` (every error names the file and what is wrong). */
export function loadSfm(dir: string): SfmModel {
  const shapeBuf = readFile(dir, SFM_FILES.shape);
  const r = new Reader(shapeBuf, join(dir, SFM_FILES.shape));
  const version = r.u32("class version");
  if (version !== 1) throw new UsageError(`${r.file}: MorphableModel class version ${version}, expected 1`);
  const mean = r.matrix("mean", undefined, 1);
  if (mean.rows % 3 !== 0 || mean.rows === 0) throw new UsageError(`${r.file}: mean has ${mean.rows} values, not a multiple of 3`);
  const n3 = mean.rows, nv = n3 / 3;
  const B = r.matrix("orthonormal_pca_basis", n3);
  const ev = r.matrix("eigenvalues", B.cols, 1);
  const nt = r.u64("triangle_list");
  r.need(12 * nt, "triangle_list");
  const triangles = new Uint32Array(3 * nt);
  for (let k = 0; k < 3 * nt; k++) {
    const v = shapeBuf.readInt32LE(r.off + 4 * k);
    if (v < 0 || v >= nv) throw new UsageError(`${r.file}: triangle ${Math.floor(k / 3)} names vertex ${v}, outside 0…${nv - 1}`);
    triangles[k] = v;
  }
  // Eigen stores the basis column-major, so each component is already contiguous.
  const basis = B.data;

  const bsBuf = readFile(dir, SFM_FILES.blendshapes);
  const br = new Reader(bsBuf, join(dir, SFM_FILES.blendshapes));
  const count = br.u64("blendshape");
  if (count > 64) throw new UsageError(`${br.file}: ${count} blendshapes is not plausible`);
  const blendshapeNames: string[] = [];
  const blendshapes = new Float32Array(count * n3);
  for (let b = 0; b < count; b++) {
    blendshapeNames.push(br.string(`blendshape ${b} name`));
    blendshapes.set(br.matrix(`blendshape ${b} deformation`, n3, 1).data, b * n3);
  }
  if (br.off !== bsBuf.length) throw new UsageError(`${br.file}: ${bsBuf.length - br.off} bytes left after ${count} blendshapes`);

  const ibugText = readFile(dir, SFM_FILES.ibug).toString("utf8");
  let ibugRaw: unknown;
  try {
    ibugRaw = parseToml(ibugText);
  } catch (e) {
    throw new UsageError(`${join(dir, SFM_FILES.ibug)}: not valid TOML (${(e as Error).message.split("\n")[0]})`);
  }
  const ib = IbugSchema.safeParse(ibugRaw);
  if (!ib.success) throw new UsageError(`${join(dir, SFM_FILES.ibug)}: ${ib.error.issues[0].path.join(".")}: ${ib.error.issues[0].message}`);
  const ibug = new Int32Array(68).fill(-1);
  for (const [k, v] of Object.entries(ib.data.landmark_mappings)) {
    const p = Number(k);
    if (p < 1 || p > 68) throw new UsageError(`${join(dir, SFM_FILES.ibug)}: landmark ${p} is outside iBUG 1…68`);
    if (v >= nv) throw new UsageError(`${join(dir, SFM_FILES.ibug)}: landmark ${p} maps to vertex ${v}, outside 0…${nv - 1}`);
    ibug[p - 1] = v;
  }

  const contourText = readFile(dir, SFM_FILES.contours).toString("utf8");
  let cRaw: unknown;
  try {
    cRaw = JSON.parse(contourText);
  } catch (e) {
    throw new UsageError(`${join(dir, SFM_FILES.contours)}: not valid JSON (${(e as Error).message})`);
  }
  const c = ContoursSchema.safeParse(cRaw);
  if (!c.success) throw new UsageError(`${join(dir, SFM_FILES.contours)}: ${c.error.issues[0].path.join(".")}: ${c.error.issues[0].message}`);
  const contours = { right: c.data.model_contour.right_contour, left: c.data.model_contour.left_contour };
  for (const v of [...contours.right, ...contours.left]) if (v >= nv) throw new UsageError(`${join(dir, SFM_FILES.contours)}: vertex ${v} outside 0…${nv - 1}`);

  const h = createHash("sha256");
  for (const b of [shapeBuf, bsBuf, Buffer.from(ibugText), Buffer.from(contourText)]) h.update(b);
  return {
    dir, nv, mean: mean.data, basis, eigenvalues: ev.data, triangles, blendshapeNames, blendshapes, ibug, contours,
    fingerprint: h.digest("hex").slice(0, 16),
  };
}
