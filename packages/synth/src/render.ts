/**
 * renderSample: one face, from (seed, domain, split, index) alone. Per sample the work is: draw the
 * parameters, deform the precomputed mesh (sparse blendshapes), light and project the vertices, rasterise,
 * paint occluders over a textured background, post-process (proxy-real only), read the bound landmarks.
 */
import { UsageError } from "@lml/core";
import { atlas, REGION, REGION_COUNT } from "./atlas";
import { cropFrom68, project, rotation, type Camera, type Pose } from "./camera";
import { BASIS_NAMES, deform, headModel, vertexNormals, type BasisName } from "./mesh";
import { Rng, hashInts } from "./rng";
import { blendPoints, boundScheme, type BoundScheme } from "./scheme";
import { makeTarget, rasterHead, clearTarget, type Target } from "./raster";
import { drawOccluders, drawBackground, sampleOccluders, type Occluder } from "./paint";
import { annotate68, postProcess } from "./proxy";
import type { Domain, Sample, SampleRequest, Split } from "./types";

/** Bump whenever any output changes for the same request: it keys the on-disk cache. */
export const GENERATOR_VERSION = "synth-3";
/** What UIs should call the proxy-real domain: it is simulated, never real photographs. */
export const PROXY_REAL_LABEL = "proxy-real (SIMULATED 300-W stand-in)";

const DOMAINS: Domain[] = ["synthetic", "proxy-real"];
const SPLITS: Split[] = ["train", "test", "common", "challenging"];

export interface FaceParams {
  coeffs: Float32Array;
  pose: Pose;
  cam: Camera;
  jitter: { dx: number; dy: number; scale: number };
  light: { dir: [number, number, number]; color: [number, number, number]; ambient: [number, number, number]; wrap: number; spec: number; shininess: number };
  palette: Float32Array;
  noiseAmp: Float32Array;
  hairLine: number;
  background: { kind: number; c1: number[]; c2: number[]; freq: number; angle: number; grid: Float32Array; g: number };
  occluders: Occluder[];
}

const B = (name: BasisName) => BASIS_NAMES.indexOf(name);

function mixColor(a: number[], b: number[], t: number): number[] {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

const HAIR = [[0.07, 0.06, 0.05], [0.22, 0.14, 0.08], [0.42, 0.28, 0.15], [0.72, 0.58, 0.34], [0.5, 0.22, 0.09], [0.62, 0.61, 0.6]];
const IRIS = [[0.3, 0.18, 0.09], [0.28, 0.42, 0.58], [0.3, 0.42, 0.28], [0.13, 0.09, 0.06]];

/** Draws every random choice for one face, in a fixed order (so the scheme never changes the image). */
export function sampleParams(rng: Rng, domain: Domain, split: Split): FaceParams {
  const proxy = domain === "proxy-real";
  const hard = split === "challenging", easy = split === "common";
  const coeffs = new Float32Array(BASIS_NAMES.length);
  // Identity. proxy-real draws from a shifted, narrower population (a different "country").
  const shift: Partial<Record<BasisName, number>> = proxy
    ? { faceWidth: 0.7, faceLength: -0.5, jawWidth: 0.6, noseLength: 0.6, noseWidth: 0.7, lipThickness: 0.6, eyeSize: -0.6, cheekbones: 0.5, browRidge: -0.4 }
    : {};
  const sd = proxy ? 0.75 : 1;
  const ident: BasisName[] = ["faceWidth", "faceLength", "jawWidth", "chin", "cheekbones", "noseLength", "noseWidth", "noseBridge", "browRidge", "eyeSize", "eyeSpacing", "lipThickness", "mouthWidth"];
  for (const n of ident) coeffs[B(n)] = rng.clippedNormal(shift[n] ?? 0, sd, -2.5, 2.5);
  // Expression.
  const ex = hard ? 1.6 : easy ? 0.6 : 1;
  coeffs[B("jawOpen")] = rng.chance(hard ? 0.55 : 0.3) ? rng.range(0.1, 1) * Math.min(1, ex) : Math.abs(rng.normal()) * 0.05;
  coeffs[B("smile")] = rng.clippedNormal(0.2, 0.45 * ex, -0.4, 1.3);
  coeffs[B("pucker")] = rng.chance(0.2 * ex) ? rng.range(0.2, 1) : 0;
  const blink = () => (rng.chance(hard ? 0.2 : 0.07) ? rng.range(0.75, 1) : Math.abs(rng.normal()) * 0.12);
  const bothBlink = rng.chance(0.7);
  const b1 = blink();
  coeffs[B("blinkRight")] = b1;
  coeffs[B("blinkLeft")] = bothBlink ? b1 : blink();
  coeffs[B("browRaise")] = rng.clippedNormal(0, 0.45 * ex, -0.6, 1.3);
  coeffs[B("browFrown")] = Math.max(0, rng.normal() * 0.5 * ex);
  // Pose.
  let yaw: number, pitch: number, roll: number;
  if (hard) {
    yaw = rng.chance(0.65) ? (rng.chance(0.5) ? 1 : -1) * rng.range(40, 90) : rng.clippedNormal(0, 25, -90, 90);
    pitch = rng.clippedNormal(0, 20, -40, 40);
    roll = rng.clippedNormal(0, 14, -30, 30);
  } else if (easy) {
    yaw = rng.clippedNormal(0, 15, -35, 35); pitch = rng.clippedNormal(0, 8, -20, 20); roll = rng.clippedNormal(0, 6, -15, 15);
  } else {
    yaw = rng.clippedNormal(0, 35, -90, 90); pitch = rng.clippedNormal(0, 14, -40, 40); roll = rng.clippedNormal(0, 10, -30, 30);
  }
  const cam = { distance: rng.range(5, 12), focal: 1 };
  const js = easy ? 0.015 : 0.035;
  const jitter = { dx: rng.clippedNormal(0, js, -0.08, 0.08), dy: rng.clippedNormal(0, js, -0.08, 0.08), scale: rng.range(easy ? 0.96 : 0.9, easy ? 1.04 : 1.1) };
  // Light: a direction in front of the face, coloured for proxy-real; dim and hard for challenging.
  const az = rng.range(-1.3, 1.3), el = rng.range(-0.4, 0.9);
  const dir: [number, number, number] = [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
  const lowLight = hard && rng.chance(0.5);
  const inten = lowLight ? rng.range(0.5, 0.9) : rng.range(0.55, 0.95);
  const amb = hard ? rng.range(0.06, 0.22) : easy ? rng.range(0.35, 0.5) : rng.range(0.2, 0.5);
  const tint = proxy ? [rng.range(0.85, 1.15), 1, rng.range(0.8, 1.15)] : [1, 1, 1];
  const light = {
    dir, color: [inten * tint[0], inten, inten * tint[2]] as [number, number, number],
    ambient: [amb * (proxy ? 1.05 : 1), amb, amb * (proxy ? 1.1 : 1)] as [number, number, number],
    wrap: proxy ? rng.range(0.3, 0.7) : 0, spec: proxy ? rng.range(0.1, 0.35) : 0, shininess: rng.range(8, 24),
  };
  // Colours per region.
  const tone = rng.next();
  const skin = mixColor(proxy ? [0.9, 0.72, 0.6] : [0.96, 0.8, 0.69], proxy ? [0.45, 0.3, 0.2] : [0.34, 0.22, 0.16], proxy ? tone * 0.8 : tone);
  const skinJ = skin.map((c) => c * rng.range(0.95, 1.05));
  const hair = HAIR[rng.int(HAIR.length)].map((c) => c * rng.range(0.85, 1.15));
  const iris = IRIS[rng.int(IRIS.length)];
  const lipTint = [rng.range(0.75, 0.88), rng.range(0.45, 0.58), rng.range(0.48, 0.6)];
  const palette = new Float32Array(3 * REGION_COUNT);
  const set = (r: number, c: number[]) => palette.set([c[0], c[1], c[2]], 3 * r);
  set(REGION.skin, skinJ);
  set(REGION.skinOther, skinJ.map((c) => c * 0.94));
  set(REGION.hair, hair);
  set(REGION.brow, mixColor(hair, skinJ, 0.25).map((c) => c * 0.8));
  set(REGION.lip, skinJ.map((c, k) => c * lipTint[k]));
  set(REGION.mouth, [0.28, 0.06, 0.07]);
  set(REGION.sclera, [0.9, 0.88, 0.84]);
  set(REGION.iris, iris);
  set(REGION.pupil, [0.03, 0.03, 0.03]);
  set(REGION.lash, mixColor(hair, [0.05, 0.04, 0.04], 0.6));
  set(REGION.nostril, skinJ.map((c) => c * 0.3));
  const noiseAmp = new Float32Array(REGION_COUNT).fill(0.03);
  noiseAmp[REGION.skin] = noiseAmp[REGION.skinOther] = proxy ? 0.03 : rng.range(0.03, 0.08);
  noiseAmp[REGION.hair] = 0.3;
  noiseAmp[REGION.brow] = 0.25;
  noiseAmp[REGION.lip] = 0.06;
  const hairLine = rng.chance(0.08) ? 9 : rng.clippedNormal(0, 0.1, -0.2, 0.35);
  // Background.
  const g = 3 + rng.int(6);
  const grid = new Float32Array((g + 1) * (g + 1)).map(() => rng.next());
  const background = {
    kind: rng.int(4), c1: [rng.next(), rng.next(), rng.next()], c2: [rng.next(), rng.next(), rng.next()],
    freq: rng.range(4, 30), angle: rng.range(0, Math.PI), grid, g,
  };
  const occluders = sampleOccluders(rng, hard ? 0.6 : easy ? 0.05 : 0.25, skinJ, hair);
  return { coeffs, pose: { yaw, pitch, roll }, cam, jitter, light, palette, noiseAmp, hairLine, background, occluders };
}

// Scratch buffers reused across calls (rendering is synchronous, so one set suffices).
interface Scratch { P: Float32Array; N: Float32Array; u: Float32Array; v: Float32Array; d: Float32Array; sx: Float32Array; sy: Float32Array; L: Float32Array }
let scratch: Scratch | null = null;
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
  /** 2·N points in output pixels, visibility, 68 surface points in output pixels. */
  points: Float32Array;
  visible: Uint8Array;
  points68: Float32Array;
  visible68: Uint8Array;
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
  const rng = new Rng(hashInts(req.seed, DOMAINS.indexOf(req.domain), SPLITS.indexOf(req.split), req.index));
  const params = sampleParams(rng, req.domain, req.split);
  edit?.(params);
  return renderWith(req, params, rng);
}

/** Neutral mean identity, frontal, plain light, no occluders: what tests and the templates look at. */
export function neutralFrontal(p: FaceParams): void {
  p.coeffs.fill(0);
  p.pose = { yaw: 0, pitch: 0, roll: 0 };
  p.cam = { distance: 8, focal: 1 };
  p.jitter = { dx: 0, dy: 0, scale: 1 };
  p.occluders = [];
  p.light = { ...p.light, dir: [0, 0, 1], wrap: 0, spec: 0 };
}

function renderWith(req: SampleRequest, params: FaceParams, rng: Rng): RenderedFace {
  const m = headModel();
  const A = atlas();
  const nv = m.rows * m.cols;
  if (!scratch) {
    scratch = { P: new Float32Array(3 * nv), N: new Float32Array(3 * nv), u: new Float32Array(nv), v: new Float32Array(nv), d: new Float32Array(nv), sx: new Float32Array(nv), sy: new Float32Array(nv), L: new Float32Array(3 * nv) };
  }
  const S = scratch;
  deform(m, params.coeffs, S.P);
  vertexNormals(m, S.P, S.N);
  const R = rotation(params.pose);
  project(R, params.cam, S.P, nv, S.u, S.v, S.d);

  const b68 = boundScheme(68);
  const want = req.domain === "synthetic" ? boundScheme(req.scheme) : b68;
  const pts68 = projectPoints(b68, S.P, R, params.cam);
  const crop = cropFrom68(pts68.u, pts68.v, params.jitter);
  const ss = supersample(req.size);
  const side = req.size * ss;
  const k = side / crop.side;
  for (let i = 0; i < nv; i++) { S.sx[i] = (S.u[i] - crop.x0) * k; S.sy[i] = (S.v[i] - crop.y0) * k; }
  vertexLight(S.N, R, params.light, S.L, nv);
  const T = target(side);
  rasterHead(T, m.rows, m.cols, S.sx, S.sy, S.d, S.L, A, params.palette, params.noiseAmp, params.hairLine);
  drawBackground(T, params.background); // only the pixels the head left empty
  const occ = drawOccluders(T, params.occluders, pts68, crop, k, rng);

  const toPix = (pp: { u: Float32Array; v: Float32Array }, n: number) => {
    const out = new Float32Array(2 * n);
    for (let q = 0; q < n; q++) { out[2 * q] = ((pp.u[q] - crop.x0) * k) / ss; out[2 * q + 1] = ((pp.v[q] - crop.y0) * k) / ss; }
    return out;
  };
  const points68 = toPix(pts68, 68);
  const visible68 = visibility(b68, pts68, S.P, R, params.cam, T, occ, crop, k);
  let points = points68, visible = visible68;
  if (want !== b68) {
    const pw = projectPoints(want, S.P, R, params.cam);
    points = toPix(pw, want.scheme.count);
    visible = visibility(want, pw, S.P, R, params.cam, T, occ, crop, k);
  }
  const image = downsample(T, ss, req.size);
  return { params, target: T, ss, points, visible, points68, visible68, image, occ };
}

export function renderSample(req: SampleRequest, edit?: (p: FaceParams) => void): Sample {
  const f = renderFace(req, edit);
  const rng = new Rng(hashInts(req.seed, 77, DOMAINS.indexOf(req.domain), SPLITS.indexOf(req.split), req.index));
  let image = f.image;
  let landmarks = f.points, visible = f.visible, landmarks68 = f.points68;
  if (req.domain === "proxy-real") {
    const a = annotate68(f, rng, req.size);
    landmarks = landmarks68 = a.points;
    visible = a.visible;
    image = postProcess(image, req.size, rng, req.split);
  }
  if (req.channels === 1) {
    const g = new Float32Array(req.size * req.size);
    for (let p = 0; p < g.length; p++) g[p] = 0.299 * image[3 * p] + 0.587 * image[3 * p + 1] + 0.114 * image[3 * p + 2];
    image = g;
  }
  return { image, landmarks, visible, landmarks68, pose: { ...f.params.pose } };
}

interface Projected { u: Float32Array; v: Float32Array; d: Float32Array; P: Float32Array }

function projectPoints(b: BoundScheme, P: Float32Array, R: Float64Array, cam: Camera): Projected {
  const n = b.scheme.count;
  const X = blendPoints(b, P, new Float32Array(3 * n));
  const u = new Float32Array(n), v = new Float32Array(n), d = new Float32Array(n);
  project(R, cam, X, n, u, v, d);
  return { u, v, d, P: X };
}

function vertexLight(N: Float32Array, R: Float64Array, l: FaceParams["light"], out: Float32Array, nv: number): void {
  const [lx, ly, lz] = l.dir;
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = R;
  const [cr, cg, cb] = l.color, [ar, ag, ab] = l.ambient;
  const w = l.wrap, spec = l.spec, sh = l.shininess;
  // Blinn half vector for a viewer on +z.
  let hx = lx, hy = ly, hz = lz + 1;
  const hl = Math.hypot(hx, hy, hz); hx /= hl; hy /= hl; hz /= hl;
  for (let i = 0; i < nv; i++) {
    const x = N[3 * i], y = N[3 * i + 1], z = N[3 * i + 2];
    const nx = r0 * x + r1 * y + r2 * z, ny = r3 * x + r4 * y + r5 * z, nz = r6 * x + r7 * y + r8 * z;
    let dif = nx * lx + ny * ly + nz * lz;
    dif = w > 0 ? (dif + w) / (1 + w) : dif;
    if (dif < 0) dif = 0;
    let s = 0;
    if (spec > 0) {
      const nh = nx * hx + ny * hy + nz * hz;
      if (nh > 0) s = spec * Math.pow(nh, sh);
    }
    out[3 * i] = ar + cr * dif + s;
    out[3 * i + 1] = ag + cg * dif + s;
    out[3 * i + 2] = ab + cb * dif + s;
  }
}

/** Self-occlusion (normal facing away, or something nearer in the z-buffer) and occluder coverage. */
function visibility(
  b: BoundScheme, pp: Projected, P: Float32Array, R: Float64Array, cam: Camera, T: Target, occ: Uint8Array,
  crop: { x0: number; y0: number }, k: number,
): Uint8Array {
  const n = b.scheme.count;
  const out = new Uint8Array(n);
  const m = headModel();
  const N = scratch!.N;
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = R;
  void P; void m;
  for (let q = 0; q < n; q++) {
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
    const px = Math.floor((pp.u[q] - crop.x0) * k), py = Math.floor((pp.v[q] - crop.y0) * k);
    if (px < 0 || py < 0 || px >= T.w || py >= T.h) continue;
    const p = py * T.w + px;
    if (occ[p]) continue;
    if (pp.d[q] > T.z[p] + 0.07) continue;
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
