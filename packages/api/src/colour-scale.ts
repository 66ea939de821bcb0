/**
 * The colour scales of per-landmark error heatmaps, shared by the dashboard and `lml report --heatmap`
 * so a figure in a paper and the page a researcher looked at use the same colours. Browser-safe.
 */

type Stop = [number, [number, number, number]];

// Sequential (low error = pale yellow, high = deep red-purple), readable on white and by colour-blind eyes.
const SEQUENTIAL: Stop[] = [
  [0, [255, 247, 188]],
  [0.25, [254, 196, 79]],
  [0.5, [236, 112, 20]],
  [0.75, [204, 39, 46]],
  [1, [103, 0, 31]],
];
// Diverging for A − B: blue where A is better (lower error), red where A is worse.
const DIVERGING: Stop[] = [
  [0, [33, 102, 172]],
  [0.25, [103, 169, 207]],
  [0.5, [247, 247, 247]],
  [0.75, [239, 138, 98]],
  [1, [178, 24, 43]],
];

function interpolate(stops: Stop[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i]!;
    const [t0, c0] = stops[i - 1]!;
    if (x <= t1) {
      const f = (x - t0) / (t1 - t0);
      return `rgb(${c0.map((c, k) => Math.round(c + (c1[k]! - c) * f)).join(",")})`;
    }
  }
  return `rgb(${stops[stops.length - 1]![1].join(",")})`;
}

/** Colour of t in [0, 1] (clamped; non-finite → 0) on the error scale. */
export const sequential = (t: number) => interpolate(SEQUENTIAL, t);
/** Colour of t in [0, 1] on the A − B difference scale (0.5 = no difference). */
export const diverging = (t: number) => interpolate(DIVERGING, t);
/** Offsets where the scales change slope: enough gradient stops to draw either exactly. */
export const SCALE_STOPS = SEQUENTIAL.map(([t]) => t);
