"use client";
/**
 * Per-landmark error on the face template: one SVG circle per landmark (68 or dense), coloured by the
 * error, with a legend and a hover card naming the point. `mode="diff"` shows A − B on a diverging scale.
 */
import { useMemo, useState } from "react";
import { diverging, gradientCss, sequential } from "./color";

/** iBug68 contours (0-based, inclusive) and whether they close: jaw, brows, nose, eyes, lips. */
const IBUG68_CONTOURS: [number, number, boolean][] = [
  [0, 16, false],
  [17, 21, false],
  [22, 26, false],
  [27, 30, false],
  [31, 35, false],
  [36, 41, true],
  [42, 47, true],
  [48, 59, true],
  [60, 67, true],
];

export interface HeatmapScheme {
  id: string;
  count: number;
  names: string[] | null;
  groups: string[];
  template: number[];
}

export function Heatmap({
  scheme,
  values,
  mode = "error",
  label,
}: {
  scheme: HeatmapScheme;
  values: number[];
  mode?: "error" | "diff";
  label?: string;
}) {
  const [hover, setHover] = useState<number | null>(null);
  const n = Math.min(scheme.count, values.length);
  const geom = useMemo(() => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      xs.push(scheme.template[2 * i]);
      ys.push(scheme.template[2 * i + 1]);
    }
    const minX = Math.min(...xs);
    const maxX = Math.max(...xs);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    const size = Math.max(maxX - minX, maxY - minY) || 1;
    const pad = size * 0.08;
    // Marks shrink as points get denser so that neighbours stay apart.
    const r = Math.max(size * 0.0035, Math.min(size * 0.016, (size * 0.11) / Math.sqrt(n)));
    return { xs, ys, box: [minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad] as const, r };
  }, [scheme, n]);

  const finite = values.slice(0, n).filter(Number.isFinite);
  const lo = mode === "diff" ? -Math.max(...finite.map(Math.abs), 1e-9) : Math.min(...finite);
  const hi = mode === "diff" ? -lo : Math.max(...finite);
  const scale = mode === "diff" ? diverging : sequential;
  const t = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);

  // Outline of each face part for the 68 scheme (iBug contours, eyes and lips closed); dense schemes
  // draw their own shape.
  const lines = useMemo(() => {
    if (n !== 68) return [];
    const pt = (i: number) => `${geom.xs[i]},${geom.ys[i]}`;
    return IBUG68_CONTOURS.map(([a, b, closed]) => {
      const idx = Array.from({ length: b - a + 1 }, (_, k) => a + k);
      return (closed ? [...idx, a] : idx).map(pt).join(" ");
    });
  }, [geom, n]);

  const [bx, by, bw, bh] = geom.box;
  return (
    <div className="heatmap" data-testid="heatmap" data-count={n}>
      <svg
        viewBox={`${bx} ${by} ${bw} ${bh}`}
        role="img"
        aria-label={label ?? `per-landmark error, ${n} points`}
        onMouseLeave={() => setHover(null)}
      >
        {lines.map((pts, i) => (
          <polyline key={i} points={pts} fill="none" stroke="#d6d9df" strokeWidth={geom.r * 0.35} strokeLinejoin="round" />
        ))}
        {Array.from({ length: n }, (_, i) => (
          <circle
            key={i}
            className={`lm-mark${hover === i ? " hot" : ""}`}
            data-index={i}
            data-value={values[i]}
            cx={geom.xs[i]}
            cy={geom.ys[i]}
            r={hover === i ? geom.r * 1.6 : geom.r}
            fill={Number.isFinite(values[i]) ? scale(t(values[i])) : "#ccc"}
            onMouseEnter={() => setHover(i)}
          >
            <title>{`#${i} ${scheme.names?.[i] ?? scheme.groups[i]}: ${values[i]?.toFixed(3)}`}</title>
          </circle>
        ))}
      </svg>
      {hover !== null && (
        <div className="tip" style={{ left: `${((geom.xs[hover] - bx) / bw) * 100}%`, top: `${((geom.ys[hover] - by) / bh) * 100}%` }}>
          <div>
            <b>#{hover}</b> {scheme.names?.[hover] ?? ""} <span style={{ opacity: 0.7 }}>({scheme.groups[hover]})</span>
          </div>
          <div className="num">
            {mode === "diff" ? "A − B" : "error"}: {values[hover]?.toFixed(3)} %
          </div>
        </div>
      )}
      <div className="legend">
        <span className="num">{lo.toFixed(2)}</span>
        <div className="bar" style={{ background: gradientCss(scale) }} />
        <span className="num">{hi.toFixed(2)}</span>
        <span>{mode === "diff" ? "A − B (NME %, blue: A better)" : "mean NME per landmark (%)"}</span>
      </div>
    </div>
  );
}
