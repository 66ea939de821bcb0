/**
 * Z-buffered triangle rasteriser for the head grid. Per vertex it takes a screen position, a depth and a
 * light value; per pixel it interpolates the light and the grid coordinates (column, row), which index
 * the texture atlas, so regions (eyes, lips, brows, hair) stay crisp however coarse the mesh is.
 */
import type { Atlas } from "./atlas";

export interface Target {
  w: number;
  h: number;
  /** RGB, 3 per pixel. */
  rgb: Float32Array;
  /** Depth (distance along the view axis), +Infinity where nothing was drawn. */
  z: Float32Array;
  /** Atlas region of the nearest surface (255 = background), and whether it is face area (1) or not. */
  region: Uint8Array;
  face: Uint8Array;
}

export function makeTarget(w: number, h: number): Target {
  return {
    w, h, rgb: new Float32Array(w * h * 3), z: new Float32Array(w * h).fill(Infinity),
    region: new Uint8Array(w * h).fill(255), face: new Uint8Array(w * h),
  };
}

export function clearTarget(t: Target): void {
  t.z.fill(Infinity);
  t.region.fill(255);
  t.face.fill(0);
}

/**
 * Draws every front-facing grid triangle. sx/sy/sz: screen x, y (pixels) and depth per vertex; light: RGB
 * light per vertex (3 floats); palette: RGB albedo per atlas region (3 floats each).
 *
 * At 64–128 px most triangles cover about one pixel, so the per-triangle overhead dominates: the triangle
 * setup is inlined here (no call with 19 arguments, atlas fields read once); the arithmetic per pixel is
 * unchanged, so images are bit-identical to the per-triangle version.
 */
/** Per-face skin and surface settings the rasteriser applies on top of the atlas. */
export interface Surface {
  /** Albedo the flush map pulls towards, and how far; stubble colour and density. */
  flush: number[];
  flushAmount: number;
  beard: number[];
  beardAmount: number;
  /** Specular strength per region (multiplies the per-vertex highlight). */
  gloss: Float32Array;
  /** Catchlight brightness. */
  glint: number;
  /** Row of the upper seam (the mouth cell lies below it). */
  seamRow: number;
}

export function rasterHead(
  t: Target, rows: number, cols: number,
  sx: Float32Array, sy: Float32Array, sz: Float32Array, L: Float32Array, Sp: Float32Array,
  atlas: Atlas, palette: Float32Array, noiseAmp: Float32Array, hairLine: number, surf: Surface,
): void {
  const { data, noise, hair, face, aw, ah, scale, detail, flush, beard, glint } = atlas;
  const fr = surf.flush[0], fg = surf.flush[1], fb = surf.flush[2], fa = surf.flushAmount;
  const br = surf.beard[0], bg = surf.beard[1], bb = surf.beard[2], ba = surf.beardAmount;
  const gloss = surf.gloss, glintK = surf.glint, seamRow = surf.seamRow;
  const rgb = t.rgb, zbuf = t.z, reg = t.region, fbuf = t.face;
  const W = t.w, H = t.h;
  for (let i = 0; i < rows - 1; i++) {
    for (let j = 0; j < cols; j++) {
      const j1 = j + 1 < cols ? j + 1 : 0;
      const qa = i * cols + j, qb = i * cols + j1, qc = qa + cols, qd = qb + cols;
      // two triangles per grid cell: (a, b, c) and (b, d, c), with their grid (column, row) coordinates
      for (let half = 0; half < 2; half++) {
        let a: number, b: number, c: number, ua: number, va: number, ub: number, vb: number, uc: number, vc: number;
        if (half === 0) { a = qa; b = qb; c = qc; ua = j; va = i; ub = j + 1; vb = i; uc = j; vc = i + 1; }
        else { a = qb; b = qd; c = qc; ua = j + 1; va = i; ub = j + 1; vb = i + 1; uc = j; vc = i + 1; }
        const ax = sx[a], ay = sy[a], bx = sx[b], by = sy[b], cx = sx[c], cy = sy[c];
        const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
        if (!(area > 1e-9)) continue; // back-facing or degenerate (NaN-safe)
        let x0 = Math.ceil((ax < bx ? (ax < cx ? ax : cx) : bx < cx ? bx : cx) - 0.5);
        let x1 = Math.floor((ax > bx ? (ax > cx ? ax : cx) : bx > cx ? bx : cx) - 0.5);
        let y0 = Math.ceil((ay < by ? (ay < cy ? ay : cy) : by < cy ? by : cy) - 0.5);
        let y1 = Math.floor((ay > by ? (ay > cy ? ay : cy) : by > cy ? by : cy) - 0.5);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > W - 1) x1 = W - 1;
        if (y1 > H - 1) y1 = H - 1;
        if (x0 > x1 || y0 > y1) continue;
        const inv = 1 / area;
        const za = sz[a], zb = sz[b], zc = sz[c];
        for (let y = y0; y <= y1; y++) {
          const py = y + 0.5;
          for (let x = x0; x <= x1; x++) {
            const px = x + 0.5;
            // barycentric weights of a, b, c
            const w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) * inv;
            const w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) * inv;
            const w2 = 1 - w0 - w1;
            if (w0 < 0 || w1 < 0 || w2 < 0) continue;
            const z = w0 * za + w1 * zb + w2 * zc;
            const p = y * W + x;
            if (z >= zbuf[p]) continue;
            zbuf[p] = z;
            let tu = ((w0 * ua + w1 * ub + w2 * uc) * scale) | 0;
            let tv = ((w0 * va + w1 * vb + w2 * vc) * scale) | 0;
            if (tu >= aw) tu -= aw;
            if (tv >= ah) tv = ah - 1;
            const k = tv * aw + tu;
            let r = data[k];
            let isFace = face[k];
            // (the texel noise makes the hairline ragged, not a cut)
            if (hair[k] + 0.05 * noise[k] > hairLine && (r === 0 || r === 1)) { r = 2; isFace = 0; }
            reg[p] = r;
            fbuf[p] = isFace;
            const n = detail[k] * (1 + noiseAmp[r] * noise[k]);
            const o = 3 * p, la = 3 * a, lb = 3 * b, lc = 3 * c;
            let cr = palette[3 * r], cg = palette[3 * r + 1], cb = palette[3 * r + 2];
            if (r <= 1) {
              // skin: flush (cheeks, nose, ears), then stubble
              const f = fa * flush[k];
              cr += (fr - cr) * f; cg += (fg - cg) * f; cb += (fb - cb) * f;
              const q = ba * beard[k] * (0.6 + 0.4 * noise[k]);
              if (q > 0) { cr += (br - cr) * q; cg += (bg - cg) * q; cb += (bb - cb) * q; }
            } else if (r === 5) {
              // the open mouth: upper teeth under the upper lip, a few lower teeth, a dark cavity between
              const vf = w0 * va + w1 * vb + w2 * vc - seamRow;
              const tooth = vf < 0.3 || vf > 0.88;
              const d = tooth ? 1 : 0.35 + 0.65 * Math.abs(vf - 0.55) * 2;
              const q = tooth ? 11 : 5;
              cr = palette[3 * q] * d; cg = palette[3 * q + 1] * d; cb = palette[3 * q + 2] * d;
            }
            const spec = gloss[r] * (w0 * Sp[a] + w1 * Sp[b] + w2 * Sp[c]) + glintK * glint[k];
            rgb[o] = cr * n * (w0 * L[la] + w1 * L[lb] + w2 * L[lc]) + spec;
            rgb[o + 1] = cg * n * (w0 * L[la + 1] + w1 * L[lb + 1] + w2 * L[lc + 1]) + spec;
            rgb[o + 2] = cb * n * (w0 * L[la + 2] + w1 * L[lb + 2] + w2 * L[lc + 2]) + spec;
          }
        }
      }
    }
  }
}
