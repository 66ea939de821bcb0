/**
 * Realism statistics per domain, computed the same way for synthetic, proxy-real and real 300-W faces:
 * framing (the 68-point box's larger side and centre, in image sides), inter-pupil distance, colour
 * (per-channel mean and spread, a luminance histogram), contrast (RMS of luminance per image) and pose.
 * Pose is ESTIMATED from the 68 points for every domain (a scaled-orthographic fit of the face model's
 * mean 3D points, jaw excluded), so the three histograms compare like with like; the generated domains
 * also report the pose they were rendered with. Nothing here is stored: real images are read at run time.
 */
import { FACE_CROP_MARGIN, framingOf, load300W, UsageError } from "@lml/core";
import { join } from "node:path";
import { existsSync } from "node:fs";

import { resolveFaceModel, type FaceModelChoice, type FaceModelKind } from "./face-model";
import { deform, headModel } from "./mesh";
import { templateCoeffs } from "./pose-points";
import { blendPoints, boundScheme } from "./scheme";
import { renderSample } from "./render";
import type { Split } from "./types";

export const STATS_DOMAINS = ["synthetic", "proxy-real", "300w"] as const;
export type StatsDomain = (typeof STATS_DOMAINS)[number];

export interface Summary { mean: number; sd: number; p5: number; p50: number; p95: number }
export interface Histogram { edges: number[]; counts: number[] }

export interface DomainStats {
  domain: StatsDomain;
  source: string;
  split: string;
  count: number;
  size: number;
  /** 68-point box larger side ÷ image side (the framing rule gives 1/1.4 = 0.714) and its centre ÷ image side. */
  framing: { side: Summary; cx: Summary; cy: Summary };
  /** Inter-pupil distance (eye centroids 36–41, 42–47) ÷ image side. */
  interPupil: Summary;
  colour: { mean: number[]; sd: number[]; luminance: Histogram };
  /** RMS contrast: the standard deviation of luminance within each image. */
  contrast: { rms: Summary; histogram: Histogram };
  /** Pose estimated from the 68 points (degrees), for every domain alike. */
  pose: { yaw: Summary; pitch: Summary; roll: Summary; yawHistogram: Histogram };
  /** Generated domains: the pose they were rendered with. */
  renderedPose?: { yaw: Summary; pitch: Summary; roll: Summary; yawHistogram: Histogram };
}

function summary(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  const q = (p: number) => s[Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))];
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  return { mean: r(mean), sd: r(sd), p5: r(q(0.05)), p50: r(q(0.5)), p95: r(q(0.95)) };
}

function histogram(xs: number[], lo: number, hi: number, bins: number): Histogram {
  const counts = new Array<number>(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.max(0, Math.floor(((x - lo) / (hi - lo)) * bins)))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, k) => Math.round((lo + ((hi - lo) * k) / bins) * 1e4) / 1e4), counts };
}

/** The face model's mean 68 points in 3D (head frame: x the subject's left, y up, z out). */
function mean3d(kind: FaceModelKind): Float32Array {
  const m = headModel(kind);
  const P = deform(m, templateCoeffs(kind), new Float32Array(m.base.length));
  return blendPoints(boundScheme(68, kind), P, new Float32Array(3 * 68));
}

/**
 * Head pose (degrees, the renderer's convention: rotation() = roll · pitch · yaw) from 68 image points:
 * least-squares affine camera from the model's mean 3D points (jaw 0–16 left out: it follows the
 * outline, not fixed surface points), its two rows made orthonormal, the third their cross product.
 */
export function estimatePose(points68: ArrayLike<number>, model3d: Float32Array): { yaw: number; pitch: number; roll: number } {
  const ids = Array.from({ length: 51 }, (_, k) => k + 17);
  // normal equations for [a b c t]·[X Y Z 1] = u and = −v
  const M = new Float64Array(16), bu = new Float64Array(4), bv = new Float64Array(4);
  for (const i of ids) {
    const x = [model3d[3 * i], model3d[3 * i + 1], model3d[3 * i + 2], 1];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) M[4 * r + c] += x[r] * x[c];
      bu[r] += x[r] * points68[2 * i];
      bv[r] -= x[r] * points68[2 * i + 1];
    }
  }
  const solve = (b: Float64Array) => {
    const A = Float64Array.from(M), y = Float64Array.from(b);
    for (let c = 0; c < 4; c++) {
      let p = c;
      for (let r = c + 1; r < 4; r++) if (Math.abs(A[4 * r + c]) > Math.abs(A[4 * p + c])) p = r;
      for (let k = 0; k < 4; k++) [A[4 * c + k], A[4 * p + k]] = [A[4 * p + k], A[4 * c + k]];
      [y[c], y[p]] = [y[p], y[c]];
      for (let r = 0; r < 4; r++) {
        if (r === c) continue;
        const f = A[4 * r + c] / A[4 * c + c];
        for (let k = 0; k < 4; k++) A[4 * r + k] -= f * A[4 * c + k];
        y[r] -= f * y[c];
      }
    }
    return [0, 1, 2].map((c) => y[c] / A[4 * c + c]);
  };
  const a = solve(bu), b = solve(bv);
  const norm = (v: number[]) => { const l = Math.hypot(v[0], v[1], v[2]) || 1; return v.map((x) => x / l); };
  const r1 = norm(a);
  const d = r1[0] * b[0] + r1[1] * b[1] + r1[2] * b[2];
  const r2 = norm([b[0] - d * r1[0], b[1] - d * r1[1], b[2] - d * r1[2]]);
  const r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
  const deg = 180 / Math.PI;
  return {
    yaw: Math.atan2(-r3[0], r3[2]) * deg,
    pitch: Math.asin(Math.max(-1, Math.min(1, -r3[1]))) * deg,
    roll: Math.atan2(r1[1], r2[1]) * deg,
  };
}

interface Face { image: Float32Array; channels: number; size: number; points68: ArrayLike<number>; pose?: { yaw: number; pitch: number; roll: number } }

function collect(domain: StatsDomain, source: string, split: string, size: number, faces: Face[], model3d: Float32Array): DomainStats {
  const side: number[] = [], cx: number[] = [], cy: number[] = [], ip: number[] = [], rms: number[] = [], lum: number[] = [];
  const yaw: number[] = [], pitch: number[] = [], roll: number[] = [], ry: number[] = [], rp: number[] = [], rr: number[] = [];
  const sum = [0, 0, 0], sq = [0, 0, 0];
  let px = 0;
  for (const f of faces) {
    const fr = framingOf(f.points68, f.size);
    side.push(fr.side); cx.push(fr.cx); cy.push(fr.cy);
    const eye = (a: number) => { let x = 0, y = 0; for (let i = a; i < a + 6; i++) { x += f.points68[2 * i]; y += f.points68[2 * i + 1]; } return [x / 6, y / 6]; };
    const [l, r] = [eye(36), eye(42)];
    ip.push(Math.hypot(l[0] - r[0], l[1] - r[1]) / f.size);
    const n = f.size * f.size;
    let ls = 0, lq = 0;
    for (let p = 0; p < n; p++) {
      const c = f.channels === 3 ? [f.image[3 * p], f.image[3 * p + 1], f.image[3 * p + 2]] : [f.image[p], f.image[p], f.image[p]];
      for (let k = 0; k < 3; k++) { sum[k] += c[k]; sq[k] += c[k] * c[k]; }
      const y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      ls += y; lq += y * y;
      if (p % 7 === 0) lum.push(y);
    }
    px += n;
    rms.push(Math.sqrt(Math.max(0, lq / n - (ls / n) ** 2)));
    const e = estimatePose(f.points68, model3d);
    yaw.push(e.yaw); pitch.push(e.pitch); roll.push(e.roll);
    if (f.pose) { ry.push(f.pose.yaw); rp.push(f.pose.pitch); rr.push(f.pose.roll); }
  }
  const mean = sum.map((s) => Math.round((s / px) * 1e4) / 1e4);
  const sd = sq.map((s, k) => Math.round(Math.sqrt(Math.max(0, s / px - (sum[k] / px) ** 2)) * 1e4) / 1e4);
  const out: DomainStats = {
    domain, source, split, count: faces.length, size,
    framing: { side: summary(side), cx: summary(cx), cy: summary(cy) },
    interPupil: summary(ip),
    colour: { mean, sd, luminance: histogram(lum, 0, 1, 16) },
    contrast: { rms: summary(rms), histogram: histogram(rms, 0, 0.4, 10) },
    pose: { yaw: summary(yaw), pitch: summary(pitch), roll: summary(roll), yawHistogram: histogram(yaw, -90, 90, 12) },
  };
  if (ry.length) out.renderedPose = { yaw: summary(ry), pitch: summary(rp), roll: summary(rr), yawHistogram: histogram(ry, -90, 90, 12) };
  return out;
}

export interface StatsOptions {
  domain: StatsDomain;
  /** Generated domains: train | test | common | challenging; 300-W: the sub-folder (train, common, …). */
  split?: string;
  count?: number;
  size?: number;
  seed?: number;
  /** 300-W: the dataset folder (default ../shared/datasets/300w128 beside the repository). */
  dir?: string;
  faceModel?: FaceModelChoice;
}

/** The statistics of one domain (300-W read from `dir`, generated domains rendered at `size`). */
export async function domainStats(o: StatsOptions): Promise<DomainStats> {
  const size = o.size ?? 128, count = o.count ?? 200, seed = o.seed ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`count: expected a positive integer, got ${count}`);
  const kind = resolveFaceModel(o.faceModel ?? "auto");
  const model3d = mean3d(kind);
  if (o.domain === "300w") {
    const split = o.split ?? "train";
    const root = o.dir ?? join(process.cwd(), "..", "shared", "datasets", "300w128");
    const dir = existsSync(join(root, split)) ? join(root, split) : root;
    // the real crops, re-framed by the one rule (for 300w128 that is the identity: it was cut that way)
    const faces = await load300W(dir, { inputSize: size, channels: 3, margin: FACE_CROP_MARGIN, limit: count });
    if (faces.length === 0) throw new UsageError(`${dir}: no 300-W faces (image + .pts pairs)`);
    return collect("300w", dir, split, size, faces.map((f) => ({ image: f.image, channels: 3, size, points68: f.landmarks })), model3d);
  }
  const split = (o.split ?? "train") as Split;
  const faces: Face[] = [];
  for (let i = 0; i < count; i++) {
    const s = renderSample({ domain: o.domain, split, index: i, seed, size, channels: 3, scheme: 68, faceModel: kind });
    faces.push({ image: s.image, channels: 3, size, points68: s.landmarks68, pose: s.pose });
  }
  return collect(o.domain, `${o.domain} (${kind} face model, seed ${seed})`, split, size, faces, model3d);
}

/** A few human-readable lines of a DomainStats. */
export function formatStats(s: DomainStats): string {
  const f = (x: Summary, d = 3) => `${x.mean.toFixed(d)} ± ${x.sd.toFixed(d)} (p5 ${x.p5.toFixed(d)}, p95 ${x.p95.toFixed(d)})`;
  const lines = [
    `${s.domain} · ${s.split} · ${s.count} faces at ${s.size}² · ${s.source}`,
    `  framing: box side/image ${f(s.framing.side)}; centre x ${f(s.framing.cx)}, y ${f(s.framing.cy)}  (rule: 0.714, 0.5, 0.5)`,
    `  inter-pupil/image ${f(s.interPupil)}`,
    `  colour mean RGB ${s.colour.mean.map((v) => v.toFixed(3)).join(" ")}, sd ${s.colour.sd.map((v) => v.toFixed(3)).join(" ")}; RMS contrast ${f(s.contrast.rms)}`,
    `  luminance histogram (16 bins 0…1): ${s.colour.luminance.counts.join(" ")}`,
    `  pose from landmarks (deg): yaw ${f(s.pose.yaw, 1)}, pitch ${f(s.pose.pitch, 1)}, roll ${f(s.pose.roll, 1)}`,
    `  yaw histogram (12 bins −90…90): ${s.pose.yawHistogram.counts.join(" ")}`,
  ];
  if (s.renderedPose) lines.push(`  rendered pose (deg): yaw ${f(s.renderedPose.yaw, 1)}, pitch ${f(s.renderedPose.pitch, 1)}, roll ${f(s.renderedPose.roll, 1)}`);
  return lines.join("\n");
}


