/**
 * The head with the Surrey Face Model as its face. The SFM covers the face from ear to ear and hairline to
 * under the chin; the procedural head (mesh.ts) supplies the rest (cranium, ears, neck) and the shared ray
 * grid that the rasteriser, the texture atlas and the landmark bindings work on.
 *
 * Resampling: every grid ray that meets the SFM mean (outermost crossing; found by rasterising the SFM
 * triangles in ray-angle space) is bound to that surface point — 3 SFM vertices with barycentric weights —
 * so it follows every identity and expression exactly. Within BAND of the SFM's outer boundary the
 * position blends into the procedural head, and grid vertices outside take the displacement of the
 * nearest boundary vertex with a falloff (a wide face widens the cranium next to it, not a step).
 * The mouth is a slit in the SFM: the grid's seam rows (φ = ±SEAM, mesh.ts) are bound to its upper and
 * lower edge, so the cell between them opens with the jaw and is painted as the mouth.
 *
 * Coefficients (SFM_COEFFS order): SFM_IDENTITY identity components in units of their standard
 * deviation (√eigenvalue), the model's 6 expression blendshapes, then jaw opening and eye closure per eye
 * (analytic fields on the SFM vertices, as the procedural head has them). Units: head units (mesh.ts:
 * 1 = 7.5 cm … here SFM_SCALE mm⁻¹), the SFM mean placed so its mouth slit lies on the seam plane.
 */
import { RAY_CENTER, MOUTH_Y, SEAM, buildGrid, castAll, castRay, dir, primitives, type HeadModel } from "./mesh";
import { sfm } from "./face-model";
import { precomputed } from "./precomputed";

/** Millimetres → head units. */
export const SFM_SCALE = 1 / 72;
/** Identity components sampled: the first 20 of 63 hold 95.5 % of the shape variance; the rest move a vertex by < 0.3 mm RMS each (a tenth of a pixel at 64²). */
export const SFM_IDENTITY = 20;
export const SFM_EXTRA = ["jawOpen", "blinkRight", "blinkLeft"] as const;
/** Blend band at the SFM boundary (radians of ray angle). */
const BAND = 0.16;
/** Falloff of the boundary displacement outside the SFM (radians). */
const REACH = 0.35;
/** Depth (head units) of the outer eye corners: the SFM placed so its eyes sit where the procedural sockets are. */
const EYE_Z = 0.98;

export interface SfmLink {
  nv: number;
  /** Identity components, blendshapes, extras: counts and the SFM blendshape names. */
  K: number;
  B: number;
  blendshapeNames: string[];
  /** Deformation basis per SFM vertex in head units, component-major (K + B + 3) × 3nv. */
  comps: Float32Array;
  /** SFM mean in head units. */
  mean: Float32Array;
  triangles: Uint32Array;
  /** Grid vertices that follow the SFM, and 4 (SFM vertex, weight) pairs each. */
  gv: Uint32Array;
  li: Uint32Array;
  lw: Float32Array;
  /** Blend weight per grid vertex (1 = SFM surface, 0 = procedural). */
  weight: Float32Array;
  /** iBUG68 → SFM vertex (−1 = not mapped), the mouth slit's upper and lower edges (ordered by x), the contours. */
  ibug: Int32Array;
  slitUpper: Uint32Array;
  slitLower: Uint32Array;
  contourRight: Uint32Array;
  contourLeft: Uint32Array;
  fingerprint: string;
}

export const SFM_BLENDSHAPES = 6;
/** Coefficient count of an SFM head. */
export const SFM_COEFF_COUNT = SFM_IDENTITY + SFM_BLENDSHAPES + SFM_EXTRA.length;

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};
const angles = (x: number, y: number, z: number) => {
  const dx = x - RAY_CENTER.x, dy = y - RAY_CENTER.y, dz = z - RAY_CENTER.z;
  return { theta: Math.atan2(dx, dz), phi: Math.atan2(dy, Math.hypot(dx, dz)), r: Math.hypot(dx, dy, dz) };
};

/** Boundary loops of a triangle mesh (edges used by one triangle), as vertex lists. */
function boundaryLoops(tri: Uint32Array): number[][] {
  const count = new Map<number, number>();
  const key = (a: number, b: number) => (a < b ? a * 65536 + b : b * 65536 + a);
  for (let t = 0; t < tri.length; t += 3)
    for (const [a, b] of [[tri[t], tri[t + 1]], [tri[t + 1], tri[t + 2]], [tri[t + 2], tri[t]]]) count.set(key(a, b), (count.get(key(a, b)) ?? 0) + 1);
  const adj = new Map<number, number[]>();
  for (const [k, n] of count) {
    if (n !== 1) continue;
    const a = Math.floor(k / 65536), b = k % 65536;
    (adj.get(a) ?? adj.set(a, []).get(a)!).push(b);
    (adj.get(b) ?? adj.set(b, []).get(b)!).push(a);
  }
  const seen = new Set<number>();
  const loops: number[][] = [];
  for (const s of adj.keys()) {
    if (seen.has(s)) continue;
    const loop: number[] = [];
    let prev = -1, cur = s;
    while (!seen.has(cur)) {
      seen.add(cur);
      loop.push(cur);
      const next = adj.get(cur)!.find((n) => n !== prev && !seen.has(n));
      if (next === undefined) break;
      prev = cur;
      cur = next;
    }
    loops.push(loop);
  }
  return loops;
}

export function buildSfmHead(): HeadModel {
  const model = sfm();
  return precomputed(`head-sfm-${model.fingerprint}`, () => build());
}

function build(): HeadModel {
  const S = sfm();
  const nv = S.nv, n3 = 3 * nv;
  const loops = boundaryLoops(S.triangles).sort((a, b) => b.length - a.length);
  const outer = loops[0], slit = loops[1];
  const sym = symmetricMean(S.mean, nv);
  // Placement: the slit on the seam plane (y = MOUTH_Y), the outer eye corners at depth EYE_Z.
  let ySlit = 0;
  for (const v of slit) ySlit += sym[3 * v + 1];
  ySlit /= slit.length;
  const zEye = (sym[3 * S.ibug[36] + 2] + sym[3 * S.ibug[45] + 2]) / 2;
  const mean = new Float32Array(n3);
  for (let v = 0; v < nv; v++) {
    mean[3 * v] = sym[3 * v] * SFM_SCALE;
    mean[3 * v + 1] = (sym[3 * v + 1] - ySlit) * SFM_SCALE + MOUTH_Y;
    mean[3 * v + 2] = (sym[3 * v + 2] - zEye) * SFM_SCALE + EYE_Z;
  }
  // The slit's two edges: walk the loop from its leftmost to its rightmost vertex both ways.
  const xs = (v: number) => mean[3 * v];
  const iL = slit.reduce((b, v, k) => (xs(v) < xs(slit[b]) ? k : b), 0), iR = slit.reduce((b, v, k) => (xs(v) > xs(slit[b]) ? k : b), 0);
  const walk = (step: number) => {
    const out: number[] = [];
    for (let k = iL; ; k = (k + step + slit.length) % slit.length) { out.push(slit[k]); if (k === iR) break; }
    return out;
  };
  const a = walk(1), b = walk(-1);
  const meanY = (p: number[]) => p.reduce((s, v) => s + mean[3 * v + 1], 0) / p.length;
  const [slitUpper, slitLower] = meanY(a) >= meanY(b) ? [a, b] : [b, a];

  // The grid: fine columns reach further round the cheeks than the procedural head's, fine rows under the
  // chin, and a column through each mouth corner (so the corner stays closed however wide the mouth opens).
  const ang = Array.from({ length: nv }, (_, v) => angles(mean[3 * v], mean[3 * v + 1], mean[3 * v + 2]));
  // (2° rows and 2.25° columns: about the SFM's own vertex spacing, ~3 mm; finer only costs time)
  const { phi, theta } = buildGrid({ theta: 80, phiLo: -45, rowStep: 2, colStep: 2.25, mustTheta: [ang[slitUpper[0]].theta, ang[slitUpper[slitUpper.length - 1]].theta] });
  const rows = phi.length, cols = theta.length, ng = rows * cols;
  // (the SFM's wider face wants a wider neck than the procedural head's)
  const prims = primitives(undefined, { r: 0.68, z: -0.22 });
  const proc = castAll(prims, phi, theta);

  // Outermost SFM crossing per grid ray: rasterise each triangle in (θ, φ).
  const hitTri = new Int32Array(ng).fill(-1), hitB = new Float32Array(3 * ng), hitR = new Float32Array(ng).fill(-Infinity);
  const firstRow = (p: number) => { let lo = 0, hi = rows; while (lo < hi) { const m = (lo + hi) >> 1; if (phi[m] > p) lo = m + 1; else hi = m; } return lo; }; // first row with φ ≤ p
  const firstCol = (t: number) => { let lo = 0, hi = cols; while (lo < hi) { const m = (lo + hi) >> 1; if (theta[m] < t) lo = m + 1; else hi = m; } return lo; }; // first col with θ ≥ t
  for (let t = 0; t < S.triangles.length; t += 3) {
    const A = ang[S.triangles[t]], B = ang[S.triangles[t + 1]], C = ang[S.triangles[t + 2]];
    const pmin = Math.min(A.phi, B.phi, C.phi), pmax = Math.max(A.phi, B.phi, C.phi);
    const tmin = Math.min(A.theta, B.theta, C.theta), tmax = Math.max(A.theta, B.theta, C.theta);
    const det = (B.theta - A.theta) * (C.phi - A.phi) - (C.theta - A.theta) * (B.phi - A.phi);
    if (Math.abs(det) < 1e-14) continue;
    for (let i = firstRow(pmax); i < rows && phi[i] >= pmin; i++)
      for (let j = firstCol(tmin); j < cols && theta[j] <= tmax; j++) {
        const pt = theta[j] - A.theta, pp = phi[i] - A.phi;
        const b1 = (pt * (C.phi - A.phi) - (C.theta - A.theta) * pp) / det;
        const b2 = ((B.theta - A.theta) * pp - pt * (B.phi - A.phi)) / det;
        const b0 = 1 - b1 - b2;
        if (b0 < -1e-9 || b1 < -1e-9 || b2 < -1e-9) continue;
        const r = b0 * A.r + b1 * B.r + b2 * C.r;
        const g = i * cols + j;
        if (r > hitR[g]) { hitR[g] = r; hitTri[g] = t / 3; hitB[3 * g] = b0; hitB[3 * g + 1] = b1; hitB[3 * g + 2] = b2; }
      }
  }
  // Seam rows: bound to the slit's edges wherever the slit spans that column.
  const seamRows = [0, 1].map((k) => phi.findIndex((p) => Math.abs(p - (k === 0 ? SEAM : -SEAM)) < 1e-12));
  const seamBind = new Map<number, [number, number, number]>(); // grid vertex → (v0, v1, f)
  [slitUpper, slitLower].forEach((edge, k) => {
    const th = edge.map((v) => ang[v].theta);
    for (let j = 0; j < cols; j++) {
      const t = theta[j];
      if (t < th[0] - 1e-9 || t > th[th.length - 1] + 1e-9) continue;
      let s = 1;
      while (s < th.length - 1 && th[s] < t) s++;
      const f = Math.min(1, Math.max(0, (t - th[s - 1]) / (th[s] - th[s - 1] || 1)));
      seamBind.set(seamRows[k] * cols + j, [edge[s - 1], edge[s], f]);
    }
  });

  // Angular distance to the outer boundary → blend weight; the nearest boundary vertex → outside falloff.
  const bAng = outer.map((v) => ang[v]);
  const nearestBoundary = (t: number, p: number) => {
    let best = Infinity, bv = outer[0];
    for (let k = 0; k < bAng.length; k++) {
      const d = Math.hypot((bAng[k].theta - t) * Math.cos(p), bAng[k].phi - p);
      if (d < best) { best = d; bv = outer[k]; }
    }
    return { d: best, v: bv };
  };
  // The procedural head swells or shrinks radially to meet the SFM at its boundary: the ratio of the SFM's
  // to the procedural radius at each boundary vertex, spread by a Gaussian over angle, fading with distance.
  const rho = bAng.map((b) => {
    const [dx, dy, dz] = dir(b.theta, b.phi);
    return b.r / castRay(prims, dx, dy, dz, 0.02, 4.2, 0.03);
  });
  for (let g = 0; g < ng; g++) {
    const i = Math.floor(g / cols), j = g % cols;
    let sw = 0, sr = 0, dmin = Infinity;
    for (let k = 0; k < bAng.length; k++) {
      const d = Math.hypot((bAng[k].theta - theta[j]) * Math.cos(phi[i]), bAng[k].phi - phi[i]);
      const kw = Math.exp(-((d / 0.2) ** 2)) + 1e-12;
      sw += kw; sr += kw * rho[k]; dmin = Math.min(dmin, d);
    }
    const f = 1 + (sr / sw - 1) * Math.exp(-((dmin / 0.9) ** 2));
    for (let c = 0; c < 3; c++) {
      const C = c === 0 ? RAY_CENTER.x : c === 1 ? RAY_CENTER.y : RAY_CENTER.z;
      proc[3 * g + c] = C + (proc[3 * g + c] - C) * f;
    }
  }
  const base = new Float32Array(3 * ng);
  const weight = new Float32Array(ng);
  const gv: number[] = [], li: number[] = [], lw: number[] = [];
  for (let g = 0; g < ng; g++) {
    const i = Math.floor(g / cols), j = g % cols;
    const nb = nearestBoundary(theta[j], phi[i]);
    const seam = seamBind.get(g);
    const inside = seam !== undefined || hitTri[g] >= 0;
    const w = seam ? 1 : inside ? smooth(0, BAND, nb.d) : 0;
    weight[g] = w;
    // SFM point on the mean, and its 3 vertices with weights
    let sx = 0, sy = 0, sz = 0;
    const vs: number[] = [], ws: number[] = [];
    if (seam) {
      const [v0, v1, f] = seam;
      vs.push(v0, v1, v1); ws.push(1 - f, f, 0);
    } else if (inside) {
      const t = hitTri[g];
      for (let k = 0; k < 3; k++) { vs.push(S.triangles[3 * t + k]); ws.push(hitB[3 * g + k]); }
    }
    for (let k = 0; k < vs.length; k++) { sx += ws[k] * mean[3 * vs[k]]; sy += ws[k] * mean[3 * vs[k] + 1]; sz += ws[k] * mean[3 * vs[k] + 2]; }
    base[3 * g] = w * sx + (1 - w) * proc[3 * g];
    base[3 * g + 1] = w * sy + (1 - w) * proc[3 * g + 1];
    base[3 * g + 2] = w * sz + (1 - w) * proc[3 * g + 2];
    const ext = (1 - w) * Math.exp(-((nb.d / REACH) ** 2)) * (inside ? 1 : 1);
    if (w === 0 && ext < 0.01) continue;
    gv.push(g);
    for (let k = 0; k < 3; k++) { li.push(vs[k] ?? nb.v); lw.push(vs[k] === undefined ? 0 : w * ws[k]); }
    li.push(nb.v); lw.push(ext);
  }

  // Deformation basis in head units.
  const K = SFM_IDENTITY, B = S.blendshapeNames.length;
  const comps = new Float32Array((K + B + SFM_EXTRA.length) * n3);
  for (let c = 0; c < K; c++) {
    const sd = Math.sqrt(S.eigenvalues[c]) * SFM_SCALE;
    for (let k = 0; k < n3; k++) comps[c * n3 + k] = S.basis[c * n3 + k] * sd;
  }
  for (let b = 0; b < B; b++) for (let k = 0; k < n3; k++) comps[(K + b) * n3 + k] = S.blendshapes[b * n3 + k] * SFM_SCALE;
  const lower = new Set(slitLower), upper = new Set(slitUpper);
  jawField(mean, nv, slitUpper, lower, upper, comps.subarray((K + B) * n3, (K + B + 1) * n3));
  blinkField(mean, nv, S.ibug, "right", comps.subarray((K + B + 1) * n3, (K + B + 2) * n3));
  blinkField(mean, nv, S.ibug, "left", comps.subarray((K + B + 2) * n3, (K + B + 3) * n3));

  const link: SfmLink = {
    nv, K, B, blendshapeNames: S.blendshapeNames, comps, mean, triangles: S.triangles,
    gv: Uint32Array.from(gv), li: Uint32Array.from(li), lw: Float32Array.from(lw), weight,
    ibug: S.ibug, slitUpper: Uint32Array.from(slitUpper), slitLower: Uint32Array.from(slitLower),
    contourRight: Uint32Array.from(S.contours.right), contourLeft: Uint32Array.from(S.contours.left), fingerprint: S.fingerprint,
  };
  return { rows, cols, phi, theta, base, bases: [], kind: "sfm", sfm: link };
}

/**
 * The mean made exactly mirror-symmetric (each vertex averaged with its mirror partner's reflection; the
 * partner is the vertex nearest the reflection, which on this mesh is a bijection). The scanned mean is
 * asymmetric by up to ~1 mm, which is enough to break the flip augmentation's mirror pairs at 128 px;
 * identities keep the model's own asymmetry.
 */
function symmetricMean(mean: Float32Array, nv: number): Float32Array {
  const out = Float32Array.from(mean);
  // x-centre: the midline vertices' mean x
  let cx = 0;
  for (let v = 0; v < nv; v++) cx += mean[3 * v];
  cx /= nv;
  const pair = new Int32Array(nv).fill(-1);
  for (let v = 0; v < nv; v++) {
    const x = 2 * cx - mean[3 * v], y = mean[3 * v + 1], z = mean[3 * v + 2];
    let best = Infinity;
    for (let u = 0; u < nv; u++) {
      const d = (mean[3 * u] - x) ** 2 + (mean[3 * u + 1] - y) ** 2 + (mean[3 * u + 2] - z) ** 2;
      if (d < best) { best = d; pair[v] = u; }
    }
  }
  for (let v = 0; v < nv; v++) {
    const u = pair[v];
    if (pair[u] !== v) continue; // not a clean pair: leave it
    out[3 * v] = (mean[3 * v] - cx - (mean[3 * u] - cx)) / 2;
    out[3 * v + 1] = (mean[3 * v + 1] + mean[3 * u + 1]) / 2;
    out[3 * v + 2] = (mean[3 * v + 2] + mean[3 * u + 2]) / 2;
  }
  return out;
}

/**
 * Jaw opening at coefficient 1: the lower face turns about the jaw hinge (as the procedural head's
 * jawOpen), fully below the slit, not at all above it between the mouth corners, smoothly elsewhere.
 */
function jawField(mean: Float32Array, nv: number, slitUpper: number[], lower: Set<number>, upper: Set<number>, out: Float32Array): void {
  let halfW = 0;
  for (const v of slitUpper) halfW = Math.max(halfW, Math.abs(mean[3 * v]));
  const hy = -0.35, hz = -0.3, maxAngle = (22 * Math.PI) / 180;
  for (let v = 0; v < nv; v++) {
    const x = mean[3 * v], y = mean[3 * v + 1], z = mean[3 * v + 2];
    const dyM = y - MOUTH_Y;
    const below = lower.has(v) || (!upper.has(v) && dyM < 0);
    const lateral = 1 - smooth(0.45, 1.05, Math.abs(x));
    const slit = 1 - smooth(0.6 * halfW, halfW * 1.15, Math.abs(x));
    let w = lateral * smooth(-0.6, 0.2, z) * (below ? 1 : (1 - smooth(0, 0.45, dyM)) * (1 - slit));
    if (upper.has(v)) w = 0;
    // the lower lip's edge follows less towards the corners, so the opening narrows into them
    if (lower.has(v)) w *= 1 - smooth(0.45 * halfW, halfW, Math.abs(x));
    const a = maxAngle * w;
    const ry = y - hy, rz = z - hz, c = Math.cos(a), s = Math.sin(a);
    out[3 * v + 1] = ry * c - rz * s - ry - 0.03 * w;
    out[3 * v + 2] = ry * s + rz * c - rz;
  }
}

/** Eye closure at coefficient 1: the opening between the lids collapses onto the lower lid, the skin above follows. */
function blinkField(mean: Float32Array, nv: number, ibug: Int32Array, side: "right" | "left", out: Float32Array): void {
  // iBUG eye contours: right 36 (outer) 37 38 39 (inner) 40 41; left 42 (inner) 43 44 45 (outer) 46 47.
  const ids = side === "right" ? { up: [36, 37, 38, 39], low: [36, 41, 40, 39] } : { up: [42, 43, 44, 45], low: [42, 47, 46, 45] };
  const P = (i: number) => ({ x: mean[3 * ibug[i]], y: mean[3 * ibug[i] + 1], z: mean[3 * ibug[i] + 2] });
  const up = ids.up.map(P).sort((a, b) => a.x - b.x), low = ids.low.map(P).sort((a, b) => a.x - b.x);
  const at = (c: { x: number; y: number }[], x: number) => {
    let k = 1;
    while (k < c.length - 1 && c[k].x < x) k++;
    const f = (x - c[k - 1].x) / (c[k].x - c[k - 1].x);
    return c[k - 1].y + f * (c[k].y - c[k - 1].y);
  };
  const x0 = up[0].x, x1 = up[up.length - 1].x, zc = Math.min(...up.map((p) => p.z)) - 0.12;
  for (let v = 0; v < nv; v++) {
    const x = mean[3 * v], y = mean[3 * v + 1], z = mean[3 * v + 2];
    if (x <= x0 || x >= x1 || z < zc) continue;
    const u = at(up, x), l = at(low, x), h = u - l;
    if (h <= 0) continue;
    if (y >= l && y <= u) { out[3 * v + 1] = -(y - l); out[3 * v + 2] = (0.02 * (y - l)) / h; }
    else if (y > u) { const fall = 1 - smooth(0, 0.17, y - u); out[3 * v + 1] = -h * fall; out[3 * v + 2] = 0.02 * fall; }
  }
}

let scratchD: Float32Array | null = null;

/** Grid positions of an SFM head: base + the SFM displacement carried to the grid. */
export function deformSfm(model: HeadModel, coeffs: Float32Array, out: Float32Array): Float32Array {
  const L = model.sfm!;
  const n3 = 3 * L.nv;
  if (!scratchD || scratchD.length !== n3) scratchD = new Float32Array(n3);
  const D = scratchD;
  D.fill(0);
  const nc = L.comps.length / n3, comps = L.comps;
  // the non-zero components, four per pass over D (a quarter of the loads and stores of D)
  const used: number[] = [];
  for (let c = 0; c < nc; c++) if (coeffs[c] !== 0) used.push(c);
  let q = 0;
  for (; q + 3 < used.length; q += 4) {
    const a0 = coeffs[used[q]], a1 = coeffs[used[q + 1]], a2 = coeffs[used[q + 2]], a3 = coeffs[used[q + 3]];
    const o0 = used[q] * n3, o1 = used[q + 1] * n3, o2 = used[q + 2] * n3, o3 = used[q + 3] * n3;
    for (let k = 0; k < n3; k++) D[k] += a0 * comps[o0 + k] + a1 * comps[o1 + k] + a2 * comps[o2 + k] + a3 * comps[o3 + k];
  }
  for (; q < used.length; q++) {
    const a = coeffs[used[q]], o = used[q] * n3;
    for (let k = 0; k < n3; k++) D[k] += a * comps[o + k];
  }
  out.set(model.base);
  const { gv, li, lw } = L;
  for (let q = 0; q < gv.length; q++) {
    const g = 3 * gv[q];
    let dx = 0, dy = 0, dz = 0;
    for (let k = 4 * q; k < 4 * q + 4; k++) {
      const w = lw[k];
      if (w === 0) continue;
      const v = 3 * li[k];
      dx += w * D[v]; dy += w * D[v + 1]; dz += w * D[v + 2];
    }
    out[g] += dx; out[g + 1] += dy; out[g + 2] += dz;
  }
  return out;
}
