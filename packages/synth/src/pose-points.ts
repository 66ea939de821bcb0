/**
 * Landmarks of a posed face: bound surface points blended from the deformed vertices and projected, with
 * the jaw points moved onto the visible face outline of that pose (contour.ts) — the rule 300-W's
 * annotators follow. The renderer and the scheme templates both place points through here.
 */
import { project, rotation, type Camera, type Pose } from "./camera";
import { bindMarching, evenly, outline, type MarchBinding } from "./contour";
import { curveSet } from "./curves";
import type { FaceModelKind } from "./face-model";
import { BASIS_NAMES, deform, headModel } from "./mesh";
import { SFM_COEFF_COUNT, SFM_IDENTITY, SFM_BLENDSHAPES } from "./sfm-head";
import type { BoundScheme } from "./scheme";

export interface Projected { u: Float32Array; v: Float32Array; d: Float32Array }

/** Coefficient vector length and the jaw-opening coefficient of a face model. */
export function coeffCount(kind: FaceModelKind): number {
  return kind === "sfm" ? SFM_COEFF_COUNT : BASIS_NAMES.length;
}
export function jawOpenIndex(kind: FaceModelKind): number {
  return kind === "sfm" ? SFM_IDENTITY + SFM_BLENDSHAPES : BASIS_NAMES.indexOf("jawOpen");
}

/**
 * The frame of the scheme templates: the mean identity with about the mean expression of the sampled
 * faces (SFM: a faint smile, happiness 0.2) and the mouth a little open (inner lips about as far apart as
 * in 300-W's mean shape, so each inner-lip point has its own nearest dense point).
 */
export function templateCoeffs(kind: FaceModelKind): Float32Array {
  const c = new Float32Array(coeffCount(kind));
  c[jawOpenIndex(kind)] = 0.25;
  if (kind === "sfm") c[SFM_IDENTITY + 3] = 0.2;
  return c;
}

const marchings = new Map<FaceModelKind, MarchBinding>();
function marchBinding(kind: FaceModelKind): MarchBinding {
  let mb = marchings.get(kind);
  if (!mb) { mb = bindMarching(headModel(kind), curveSet(kind).marching); marchings.set(kind, mb); }
  return mb;
}

/** The visible face outline (LEVELS points, normalised image coordinates and depth) of deformed positions P. */
export function faceOutline(kind: FaceModelKind, P: Float32Array, R: Float64Array, cam: Camera) {
  return outline(marchBinding(kind), P, R, (X, n, u, v, d) => project(R, cam, X, n, u, v, d));
}

/** Bound points projected; jaw points (b.jaw) placed evenly along `line` (the visible outline). */
export function placePoints(b: BoundScheme, P: Float32Array, R: Float64Array, cam: Camera, line: ReturnType<typeof faceOutline>): Projected {
  const n = b.scheme.count, V = b.verts, W = b.weights;
  const X = new Float32Array(3 * n);
  for (let k = 0; k < n; k++) {
    let x = 0, y = 0, z = 0;
    for (let q = 0; q < 4; q++) {
      const v = 3 * V[4 * k + q], w = W[4 * k + q];
      x += w * P[v]; y += w * P[v + 1]; z += w * P[v + 2];
    }
    X[3 * k] = x; X[3 * k + 1] = y; X[3 * k + 2] = z;
  }
  const u = new Float32Array(n), v = new Float32Array(n), d = new Float32Array(n);
  project(R, cam, X, n, u, v, d);
  if (b.jaw.length > 0) {
    const e = evenly(line, b.jaw.length);
    for (let j = 0; j < b.jaw.length; j++) { const k = b.jaw[j]; u[k] = e.u[j]; v[k] = e.v[j]; d[k] = e.d[j]; }
  }
  return { u, v, d };
}

/** Points of a face with coefficients `coeffs` at `pose` (allocates; the renderer reuses its own buffers). */
export function posedPoints(b: BoundScheme, coeffs: Float32Array, pose: Pose, cam: Camera): Projected {
  const m = headModel(b.kind);
  const P = deform(m, coeffs, new Float32Array(m.base.length));
  const R = rotation(pose);
  return placePoints(b, P, R, cam, faceOutline(b.kind, P, R, cam));
}
