/**
 * renderSample: one face, from (seed, domain, split, index, face model) alone. Per sample the work is: draw
 * the parameters, deform the precomputed mesh, find the visible face outline and the 68 points, frame the
 * face by core's rule (faceCrop: a square 1.4× the 68-point box, centred), light the vertices, rasterise,
 * paint the scene around the head and any occluders, photograph it (look.ts), read the bound landmarks.
 */
import { UsageError, faceCrop } from "@lml/core";
import { atlas, REGION, REGION_COUNT } from "./atlas";
import { project, rotation, type Camera, type Pose } from "./camera";
import { resolveFaceModel, type FaceModelChoice, type FaceModelKind } from "./face-model";
import { BASIS_NAMES, deform, headModel, SEAM, vertexNormals, type BasisName } from "./mesh";
import { Rng, hashInts } from "./rng";
import { boundScheme, interleave, type BoundScheme } from "./scheme";
import { makeTarget, rasterHead, clearTarget, type Surface, type Target } from "./raster";
import { drawOccluders, drawScene, sampleOccluders, sampleScene, type Occluder, type Scene } from "./paint";
import { annotate68 } from "./proxy";
import { applyLook, sampleLook, type Look } from "./look";
import { coeffCount, faceOutline, placePoints, type Projected } from "./pose-points";
import { SFM_IDENTITY, SFM_BLENDSHAPES } from "./sfm-head";
import type { Domain, Sample, SampleRequest, Split } from "./types";

/** Bump whenever any output changes for the same request: it keys the on-disk cache. */
export const GENERATOR_VERSION = "synth-4";
/** What UIs should call the proxy-real domain: it is simulated, never real photographs. */
export const PROXY_REAL_LABEL = "proxy-real (SIMULATED 300-W stand-in, |yaw| ≤ 50° like 300-W)";

const DOMAINS: Domain[] = ["synthetic", "proxy-real"];
const SPLITS: Split[] = ["train", "test", "common", "challenging"];

export interface Light {
  /** Key and fill lights: directions (towards the light, camera frame) and RGB intensities. */
  key: { dir: number[]; color: number[] };
  fill: { dir: number[]; color: number[] };
  /** Environment: sky (from above) and ground bounce (from below) ambient colours. */
  sky: number[];
  ground: number[];
  /** Wrap lighting (soft terminator, subsurface-like) and how red the wrapped light is. */
  wrap: number;
  sss: number;
  spec: number;
  shininess: number;
}

export interface FaceParams {
  kind: FaceModelKind;
  coeffs: Float32Array;
  pose: Pose;
  cam: Camera;
  light: Light;
  palette: Float32Array;
  noiseAmp: Float32Array;
  hairLine: number;
  surface: Omit<Surface, "seamRow">;
  scene: Scene;
  occluders: Occluder[];
  look: Look;
}

const B = (name: BasisName) => BASIS_NAMES.indexOf(name);

function mixColor(a: number[], b: number[], t: number): number[] {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// Hair: black, dark brown, brown, blond, red, grey (rough shares of 300-W's faces).
const HAIR = [[0.05, 0.045, 0.04], [0.16, 0.11, 0.07], [0.36, 0.25, 0.15], [0.68, 0.55, 0.34], [0.45, 0.2, 0.09], [0.6, 0.59, 0.57]];
const HAIR_P = [0.34, 0.3, 0.16, 0.08, 0.04, 0.08];
const IRIS = [[0.3, 0.17, 0.08], [0.16, 0.1, 0.06], [0.3, 0.42, 0.55], [0.32, 0.4, 0.26], [0.42, 0.33, 0.18]];
// Skin tones light → dark (display values), interpolated.
const SKIN = [[0.95, 0.78, 0.68], [0.86, 0.66, 0.52], [0.7, 0.5, 0.36], [0.46, 0.31, 0.21], [0.3, 0.2, 0.14]];

function pick<T>(rng: Rng, xs: T[], p: number[]): T {
  let u = rng.next();
  for (let k = 0; k < xs.length; k++) { u -= p[k]; if (u < 0) return xs[k]; }
  return xs[xs.length - 1];
}

function dirOf(az: number, el: number): number[] {
  return [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
}

/** Head pose per split. Every split keeps |yaw| within what 300-W annotates (both eyes in view). */
function samplePose(rng: Rng, split: Split): Pose {
  if (split === "common") return { yaw: rng.clippedNormal(0, 15, -35, 35), pitch: rng.clippedNormal(0, 8, -20, 20), roll: rng.clippedNormal(0, 6, -15, 15) };
  if (split === "challenging") return { yaw: rng.clippedNormal(0, 30, -50, 50), pitch: rng.clippedNormal(0, 15, -35, 35), roll: rng.clippedNormal(0, 14, -40, 40) };
  // train/test: a little wider than 300-W's own spread (yaw ≈ 19°, pitch ≈ 9°, roll ≈ 7° sd, estimated from its landmarks by stats.ts)
  return { yaw: rng.clippedNormal(0, 22, -60, 60), pitch: rng.clippedNormal(0, 10, -30, 30), roll: rng.clippedNormal(0, 8, -30, 30) };
}

/** SFM shape: identity from the eigenvalues, one of the model's expressions (often a smile), jaw, blinks. */
function sfmShape(rng: Rng, proxy: boolean, hard: boolean, easy: boolean): Float32Array {
  const c = new Float32Array(SFM_IDENTITY + SFM_BLENDSHAPES + 3);
  // proxy-real: another population (shifted along the first components, less spread): a domain gap to bridge
  const shift = proxy ? [0.6, -0.5, 0.5, 0.4] : [];
  for (let k = 0; k < SFM_IDENTITY; k++) c[k] = rng.clippedNormal(shift[k] ?? 0, proxy ? 0.8 : 1, -3, 3);
  const E = SFM_IDENTITY;
  for (let b = 0; b < SFM_BLENDSHAPES; b++) { const t = Math.abs(rng.normal()) * 0.1; c[E + b] = t > 0.06 ? t : 0; } // a trace of other expressions
  if (!rng.chance(hard ? 0.15 : easy ? 0.5 : 0.35)) {
    // anger, disgust, fear, happiness, sadness, surprise
    const e = pick(rng, [0, 1, 2, 3, 4, 5], [0.1, 0.08, 0.08, 0.48, 0.14, 0.12]);
    c[E + e] = hard ? rng.range(0.5, 1.0) : rng.range(0.2, 1.0);
  }
  const J = E + SFM_BLENDSHAPES;
  c[J] = rng.chance(hard ? 0.45 : 0.25) ? rng.range(0.1, hard ? 0.7 : 0.6) : 0;
  const blink = () => { const t = rng.chance(hard ? 0.15 : 0.06) ? rng.range(0.7, 1) : Math.abs(rng.normal()) * 0.1; return t > 0.05 ? t : 0; };
  const b1 = blink();
  c[J + 1] = b1;
  c[J + 2] = rng.chance(0.75) ? b1 : blink();
  return c;
}

/** Procedural shape (the built-in fallback): 13 identity traits and 7 expressions. */
function proceduralShape(rng: Rng, proxy: boolean, hard: boolean, easy: boolean): Float32Array {
  const coeffs = new Float32Array(BASIS_NAMES.length);
  const shift: Partial<Record<BasisName, number>> = proxy
    ? { faceWidth: 0.7, faceLength: -0.5, jawWidth: 0.6, noseLength: 0.6, noseWidth: 0.7, lipThickness: 0.6, eyeSize: -0.6, cheekbones: 0.5, browRidge: -0.4 }
    : {};
  const sd = proxy ? 0.75 : 1;
  const ident: BasisName[] = ["faceWidth", "faceLength", "jawWidth", "chin", "cheekbones", "noseLength", "noseWidth", "noseBridge", "browRidge", "eyeSize", "eyeSpacing", "lipThickness", "mouthWidth"];
  for (const n of ident) coeffs[B(n)] = rng.clippedNormal(shift[n] ?? 0, sd, -2.5, 2.5);
  const ex = hard ? 1.6 : easy ? 0.6 : 1;
  coeffs[B("jawOpen")] = rng.chance(hard ? 0.55 : 0.3) ? rng.range(0.1, 1) * Math.min(1, ex) : Math.abs(rng.normal()) * 0.05;
  coeffs[B("smile")] = rng.clippedNormal(0.2, 0.45 * ex, -0.4, 1.3);
  coeffs[B("pucker")] = rng.chance(0.2 * ex) ? rng.range(0.2, 1) : 0;
  const blink = () => (rng.chance(hard ? 0.2 : 0.07) ? rng.range(0.75, 1) : Math.abs(rng.normal()) * 0.12);
  const b1 = blink();
  coeffs[B("blinkRight")] = b1;
  coeffs[B("blinkLeft")] = rng.chance(0.7) ? b1 : blink();
  coeffs[B("browRaise")] = rng.clippedNormal(0, 0.45 * ex, -0.6, 1.3);
  coeffs[B("browFrown")] = Math.max(0, rng.normal() * 0.5 * ex);
  return coeffs;
}

/** Draws every random choice for one face, in a fixed order (so the scheme never changes the image). */
export function sampleParams(rng: Rng, domain: Domain, split: Split, kind: FaceModelKind): FaceParams {
  const proxy = domain === "proxy-real";
  const hard = split === "challenging", easy = split === "common";
  const coeffs = kind === "sfm" ? sfmShape(rng, proxy, hard, easy) : proceduralShape(rng, proxy, hard, easy);
  const pose = samplePose(rng, split);
  const cam = { distance: rng.range(5, 12), focal: 1 };

  // Light: a key light, a weaker fill from the other side, sky and ground ambient; colour temperatures vary.
  const warm = (t: number) => [1 + 0.14 * t, 1, 1 - 0.2 * t];
  const az = rng.range(-1.2, 1.2), el = rng.range(-0.25, 0.9);
  const dim = hard && rng.chance(0.4) ? rng.range(0.4, 0.7) : 1;
  const keyI = rng.range(0.65, 1.05) * dim, kt = warm(rng.range(-0.8, 1) + (proxy ? 0.3 : 0));
  const fillI = keyI * rng.range(0.1, 0.5), ft = warm(rng.range(-1, 1));
  const amb = (hard ? rng.range(0.1, 0.28) : easy ? rng.range(0.32, 0.5) : rng.range(0.2, 0.5)) * dim;
  const st = warm(rng.range(-1.2, 0.6));
  const light: Light = {
    key: { dir: dirOf(az, el), color: kt.map((c) => c * keyI) },
    fill: { dir: dirOf(-az * rng.range(0.4, 1.2) - Math.sign(az) * 0.3, rng.range(-0.3, 0.5)), color: ft.map((c) => c * fillI) },
    sky: st.map((c) => c * amb),
    ground: st.map((c, k) => c * amb * rng.range(0.35, 0.7) * [1.05, 0.95, 0.85][k]),
    wrap: rng.range(0.15, 0.5), sss: rng.range(0.3, 0.8), spec: rng.range(0.03, proxy ? 0.3 : 0.22), shininess: rng.range(10, 40),
  };

  // Colours per region.
  const tone = Math.pow(rng.next(), proxy ? 1.2 : 1.6) * (SKIN.length - 1);
  const t0 = Math.floor(Math.min(tone, SKIN.length - 1.001));
  const skin = mixColor(SKIN[t0], SKIN[t0 + 1], tone - t0);
  const hue = rng.normal() * 0.025;
  const skinJ = [skin[0] * (1 + hue) * rng.range(0.96, 1.04), skin[1] * rng.range(0.96, 1.04), skin[2] * (1 - hue) * rng.range(0.95, 1.05)];
  const grey = tone < 2 && rng.chance(0.06);
  const hair = (grey ? HAIR[5] : pick(rng, HAIR, HAIR_P)).map((c) => c * rng.range(0.8, 1.2));
  const iris = IRIS[rng.int(IRIS.length)].map((c) => c * rng.range(0.8, 1.15));
  const lipTint = [rng.range(0.82, 0.95), rng.range(0.52, 0.66), rng.range(0.55, 0.68)];
  const palette = new Float32Array(3 * REGION_COUNT);
  const set = (r: number, c: number[]) => palette.set([c[0], c[1], c[2]], 3 * r);
  set(REGION.skin, skinJ);
  set(REGION.skinOther, skinJ.map((c) => c * 0.97));
  set(REGION.hair, hair);
  set(REGION.brow, mixColor(hair, skinJ, 0.3).map((c) => c * 0.75));
  set(REGION.lip, skinJ.map((c, k) => c * lipTint[k]));
  set(REGION.mouth, [0.22, 0.06, 0.06]);
  set(REGION.sclera, [0.86, 0.82, 0.78].map((c) => c * rng.range(0.85, 1)));
  set(REGION.iris, iris);
  set(REGION.pupil, [0.03, 0.025, 0.025]);
  set(REGION.lash, mixColor(hair, [0.04, 0.03, 0.03], 0.7));
  set(REGION.nostril, skinJ.map((c) => c * 0.25));
  set(REGION.teeth, [0.86, 0.82, 0.72].map((c) => c * rng.range(0.75, 1)));
  const noiseAmp = new Float32Array(REGION_COUNT).fill(0.03);
  noiseAmp[REGION.skin] = noiseAmp[REGION.skinOther] = rng.range(0.015, 0.05);
  noiseAmp[REGION.hair] = rng.range(0.2, 0.4);
  noiseAmp[REGION.brow] = 0.3;
  noiseAmp[REGION.lip] = 0.06;
  const hairLine = rng.chance(0.06) ? 9 : rng.clippedNormal(-0.18, 0.12, -0.45, 0.25);
  const gloss = new Float32Array(REGION_COUNT);
  gloss.set([1, 0.9, 0.45, 0.15, 1.3, 0.3, 1.6, 1.6, 1.6, 0.1, 0, 0.8]);
  const male = rng.chance(0.5);
  const surface = {
    flush: [skinJ[0] * 1.04, skinJ[1] * 0.78, skinJ[2] * 0.8], flushAmount: rng.range(0.1, 0.5),
    beard: hair.map((c, k) => Math.min(c, skinJ[k]) * 0.8), beardAmount: male && rng.chance(0.45) ? rng.range(0.15, 0.75) : 0,
    gloss, glint: rng.range(0.4, 1.0),
  };
  const scene = sampleScene(rng, hair, male ? 0.08 : 0.55);
  // (glasses are drawn flat from the eye corners: only near-frontal faces get them)
  const occluders = sampleOccluders(rng, hard ? 0.5 : easy ? 0.05 : 0.2, skinJ, hair).filter((o) => o.kind !== "glasses" || Math.abs(pose.yaw) < 30);
  const look = sampleLook(rng, domain, split);
  return { kind, coeffs, pose, cam, light, palette, noiseAmp, hairLine, surface, scene, occluders, look };
}

// Scratch buffers reused across calls (rendering is synchronous), one set per face model.
interface Scratch { P: Float32Array; N: Float32Array; u: Float32Array; v: Float32Array; d: Float32Array; sx: Float32Array; sy: Float32Array; L: Float32Array; S: Float32Array }
const scratches = new Map<FaceModelKind, Scratch>();
const targets = new Map<number, Target>();

function target(side: number): Target {
  let t = targets.get(side);
  if (!t) { t = makeTarget(side, side); targets.set(side, t); }
  clearTarget(t);
  return t;
}

export interface RenderedFace {
  params: FaceParams;
  /** Supersampled render target and its scale to output pixels. */
  target: Target;
  ss: number;
  /** 2·N points in output pixels, visibility, 68 points (jaw on the visible outline) in output pixels. */
  points: Float32Array;
  visible: Uint8Array;
  points68: Float32Array;
  visible68: Uint8Array;
  /** The rendered RGB image before the camera (look.ts). */
  image: Float32Array;
  /** Occluder coverage in the supersampled target. */
  occ: Uint8Array;
}

function validate(req: SampleRequest): void {
  if (!DOMAINS.includes(req.domain)) throw new UsageError(`domain: expected synthetic or proxy-real, got "${req.domain}"`);
  if (!SPLITS.includes(req.split)) throw new UsageError(`split: expected train, test, common or challenging, got "${req.split}"`);
  if (!Number.isInteger(req.size) || req.size < 16 || req.size > 512) throw new UsageError(`size: expected an integer 16…512, got ${req.size}`);
  if (req.channels !== 1 && req.channels !== 3) throw new UsageError(`channels: expected 1 or 3, got ${req.channels}`);
  if (!Number.isInteger(req.index) || req.index < 0) throw new UsageError(`index: expected a non-negative integer, got ${req.index}`);
  if (!Number.isFinite(req.seed)) throw new UsageError(`seed: expected a number, got ${req.seed}`);
}

/** Supersampling factor: small outputs are rendered larger and box-filtered, which removes stair-steps. */
export function supersample(size: number): number {
  return size < 64 ? 2 : 1;
}

export function renderFace(req: SampleRequest, edit?: (p: FaceParams) => void): RenderedFace {
  validate(req);
  const kind = resolveFaceModel(req.faceModel ?? "auto");
  const rng = new Rng(hashInts(req.seed, DOMAINS.indexOf(req.domain), SPLITS.indexOf(req.split), req.index));
  const params = sampleParams(rng, req.domain, req.split, kind);
  edit?.(params);
  return renderWith(req, params, rng);
}

/** Neutral mean identity, frontal, plain frontal light, no occluders, a clean camera: what tests and the templates look at. */
export function neutralFrontal(p: FaceParams): void {
  p.coeffs.fill(0);
  p.pose = { yaw: 0, pitch: 0, roll: 0 };
  p.cam = { distance: 8, focal: 1 };
  p.occluders = [];
  p.light = { ...p.light, key: { dir: [0, 0, 1], color: [0.7, 0.7, 0.7] }, fill: { dir: [0, 0, 1], color: [0, 0, 0] }, wrap: 0.3, spec: 0 };
  p.look = { ...p.look, pad: [0, 0, 0, 0] };
}

function renderWith(req: SampleRequest, params: FaceParams, rng: Rng): RenderedFace {
  const kind = params.kind;
  const m = headModel(kind);
  const A = atlas(kind);
  const nv = m.rows * m.cols;
  let S = scratches.get(kind);
  if (!S) {
    S = { P: new Float32Array(3 * nv), N: new Float32Array(3 * nv), u: new Float32Array(nv), v: new Float32Array(nv), d: new Float32Array(nv), sx: new Float32Array(nv), sy: new Float32Array(nv), L: new Float32Array(3 * nv), S: new Float32Array(nv) };
    scratches.set(kind, S);
  }
  if (params.coeffs.length !== coeffCount(kind)) throw new Error(`face parameters for ${kind} need ${coeffCount(kind)} coefficients, got ${params.coeffs.length}`);
  deform(m, params.coeffs, S.P);
  vertexNormals(m, S.P, S.N);
  const R = rotation(params.pose);
  project(R, params.cam, S.P, nv, S.u, S.v, S.d);

  // The 68 points (jaw on the visible outline) frame the face: core's one rule for every domain.
  const b68 = boundScheme(68, kind);
  const want = req.domain === "synthetic" ? boundScheme(req.scheme, kind) : b68;
  const line = faceOutline(kind, S.P, R, params.cam);
  const pts68 = placePoints(b68, S.P, R, params.cam, line);
  const crop = faceCrop(interleave(pts68.u, pts68.v));
  const ss = supersample(req.size);
  const side = req.size * ss;
  const k = side / crop.side;
  for (let i = 0; i < nv; i++) { S.sx[i] = (S.u[i] - crop.x0) * k; S.sy[i] = (S.v[i] - crop.y0) * k; }
  vertexLight(S.N, R, params.light, A.ao, S.L, S.S, nv);
  const T = target(side);
  const seamRow = m.phi.findIndex((p) => Math.abs(p - SEAM) < 1e-12);
  rasterHead(T, m.rows, m.cols, S.sx, S.sy, S.d, S.L, S.S, A, params.palette, params.noiseAmp, params.hairLine, { ...params.surface, seamRow });

  const toPix = (pp: { u: ArrayLike<number>; v: ArrayLike<number> }, n: number) => {
    const out = new Float32Array(2 * n);
    for (let q = 0; q < n; q++) { out[2 * q] = ((pp.u[q] - crop.x0) * k) / ss; out[2 * q + 1] = ((pp.v[q] - crop.y0) * k) / ss; }
    return out;
  };
  const points68 = toPix(pts68, 68);
  // the scene around the head: placed from the 68-point box in target pixels
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let q = 0; q < 68; q++) { x0 = Math.min(x0, points68[2 * q]); x1 = Math.max(x1, points68[2 * q]); y0 = Math.min(y0, points68[2 * q + 1]); y1 = Math.max(y1, points68[2 * q + 1]); }
  const hsc = ss;
  const frame = { cx: ((x0 + x1) / 2) * hsc, cy: ((y0 + y1) / 2) * hsc, hw: ((x1 - x0) / 2) * hsc, h: (y1 - y0) * hsc, chinY: points68[17] * hsc, topY: (y0 - 0.45 * (y1 - y0)) * hsc };
  drawScene(T, params.scene, frame, Array.from(params.palette.subarray(3 * REGION.hair, 3 * REGION.hair + 3)), params.noiseAmp[REGION.hair], rng);
  const occ = drawOccluders(T, params.occluders, pts68, crop, k, rng);

  const visible68 = visibility(b68, pts68, S, R, params.cam, T, occ, crop, k);
  let points = points68, visible = visible68;
  if (want !== b68) {
    const pw = placePoints(want, S.P, R, params.cam, line);
    points = toPix(pw, want.scheme.count);
    visible = visibility(want, pw, S, R, params.cam, T, occ, crop, k);
  }
  const image = downsample(T, ss, req.size);
  return { params, target: T, ss, points, visible, points68, visible68, image, occ };
}

export function renderSample(req: SampleRequest, edit?: (p: FaceParams) => void): Sample {
  const f = renderFace(req, edit);
  const rng = new Rng(hashInts(req.seed, 77, DOMAINS.indexOf(req.domain), SPLITS.indexOf(req.split), req.index));
  let landmarks = f.points, visible = f.visible, landmarks68 = f.points68;
  if (req.domain === "proxy-real") {
    const a = annotate68(f, rng, req.size);
    landmarks = landmarks68 = a.points;
    visible = a.visible;
  }
  const image = applyLook(f.image, req.size, f.params.look, rng, req.channels);
  return { image, landmarks, visible, landmarks68, pose: { ...f.params.pose } };
}

/**
 * Per-vertex light: sky/ground ambient by the normal's height (times ambient occlusion), key and fill with
 * wrap (the light that wraps past the terminator is reddened, as light scattered under skin is), and a
 * Blinn highlight from the key light (kept apart: it is added, not multiplied by the albedo).
 */
function vertexLight(N: Float32Array, R: Float64Array, l: Light, ao: Float32Array, out: Float32Array, spec: Float32Array, nv: number): void {
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = R;
  const [kx, ky, kz] = l.key.dir, [fx, fy, fz] = l.fill.dir;
  const kc = l.key.color, fc = l.fill.color, sky = l.sky, gr = l.ground;
  const w = l.wrap, sss = l.sss, sp = l.spec * (kc[0] + kc[1] + kc[2]) / 3, sh = l.shininess;
  const red = [1, 1 - 0.45 * sss, 1 - 0.6 * sss];
  let hx = kx, hy = ky, hz = kz + 1;
  const hl = Math.hypot(hx, hy, hz); hx /= hl; hy /= hl; hz /= hl;
  for (let i = 0; i < nv; i++) {
    const x = N[3 * i], y = N[3 * i + 1], z = N[3 * i + 2];
    const nx = r0 * x + r1 * y + r2 * z, ny = r3 * x + r4 * y + r5 * z, nz = r6 * x + r7 * y + r8 * z;
    const a = ao[i];
    const up = 0.5 + 0.5 * ny;
    const dk = nx * kx + ny * ky + nz * kz, df = nx * fx + ny * fy + nz * fz;
    const hk = dk > 0 ? dk : 0, sk = Math.max(0, (dk + w) / (1 + w)) - hk;
    const hf = Math.max(0, (df + w) / (1 + w));
    const occ = 0.55 + 0.45 * a;
    for (let c = 0; c < 3; c++) out[3 * i + c] = (gr[c] + (sky[c] - gr[c]) * up) * a + occ * (kc[c] * (hk + sk * red[c]) + fc[c] * hf);
    const nh = nx * hx + ny * hy + nz * hz;
    // Schlick's rational stand-in for nh^sh (no pow per vertex)
    spec[i] = nh > 0 && dk > 0 ? (sp * a * nh) / (sh - sh * nh + nh) : 0;
  }
}

const jawFlagCache = new WeakMap<BoundScheme, Uint8Array>();
function jawFlags(b: BoundScheme): Uint8Array {
  let f = jawFlagCache.get(b);
  if (!f) { f = new Uint8Array(b.scheme.count); for (const k of b.jaw) f[k] = 1; jawFlagCache.set(b, f); }
  return f;
}

/** Self-occlusion (normal facing away, or something nearer in the z-buffer) and occluder coverage; jaw points sit on the outline, so only the depth test applies to them. */
function visibility(
  b: BoundScheme, pp: Projected, S: Scratch, R: Float64Array, cam: Camera, T: Target, occ: Uint8Array,
  crop: { x0: number; y0: number }, k: number,
): Uint8Array {
  const n = b.scheme.count;
  const out = new Uint8Array(n);
  const N = S.N;
  const jaw = jawFlags(b);
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = R;
  for (let q = 0; q < n; q++) {
    if (!jaw[q]) {
      let nx0 = 0, ny0 = 0, nz0 = 0;
      for (let c = 0; c < 4; c++) {
        const v = 3 * b.verts[4 * q + c], w = b.weights[4 * q + c];
        nx0 += w * N[v]; ny0 += w * N[v + 1]; nz0 += w * N[v + 2];
      }
      const nx = r0 * nx0 + r1 * ny0 + r2 * nz0, ny = r3 * nx0 + r4 * ny0 + r5 * nz0, nz = r6 * nx0 + r7 * ny0 + r8 * nz0;
      // camera-space point and the direction to the eye (camera at z = D)
      const X = (pp.u[q] * pp.d[q]) / cam.focal, Y = (-pp.v[q] * pp.d[q]) / cam.focal;
      const facing = -nx * X - ny * Y + nz * pp.d[q];
      if (!(facing > 0)) continue;
    }
    const px = Math.floor((pp.u[q] - crop.x0) * k), py = Math.floor((pp.v[q] - crop.y0) * k);
    if (px < 0 || py < 0 || px >= T.w || py >= T.h) continue;
    const p = py * T.w + px;
    if (occ[p]) continue;
    // (a point on the outline sits where the surface grazes the view: its depth is looser)
    if (pp.d[q] > T.z[p] + (jaw[q] ? 0.3 : 0.07)) continue;
    out[q] = 1;
  }
  return out;
}

function downsample(T: Target, ss: number, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  if (ss === 1) {
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, T.rgb[i]));
    return out;
  }
  const W = T.w, inv = 1 / (ss * ss);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, bb = 0;
      for (let dy = 0; dy < ss; dy++)
        for (let dx = 0; dx < ss; dx++) {
          const o = 3 * ((y * ss + dy) * W + x * ss + dx);
          r += T.rgb[o]; g += T.rgb[o + 1]; bb += T.rgb[o + 2];
        }
      const o = 3 * (y * size + x);
      out[o] = Math.min(1, r * inv); out[o + 1] = Math.min(1, g * inv); out[o + 2] = Math.min(1, bb * inv);
    }
  return out;
}
