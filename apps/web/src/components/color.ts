/** Colour scales for the heatmaps (shared with `lml report`, in @lml/api) and series colours for the charts. */

import { diverging, sequential, SCALE_STOPS } from "@lml/api/colour-scale";

export { diverging, sequential };
export function gradientCss(scale: (t: number) => string): string {
  return `linear-gradient(90deg, ${SCALE_STOPS.map((t) => `${scale(t)} ${t * 100}%`).join(", ")})`;
}

export const SERIES = ["#4f46e5", "#db2777", "#059669", "#d97706", "#0891b2", "#7c3aed", "#dc2626", "#65a30d"];
