/**
 * The report's picture: per-landmark error heatmaps of several models side by side on one face
 * template, on ONE shared colour scale (so equal colours mean equal errors across panels; the dashboard's scale), written as
 * SVG and rasterised to PNG with sharp.
 */
import { SCALE_STOPS, sequential as colour } from "@lml/api/colour-scale";
import type { LandmarkScheme } from "@lml/core";

export interface HeatmapPanel {
  title: string;
  subtitle?: string;
  /** Mean normalised error per landmark (×100), in the scheme's order. */
  values: readonly number[];
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function heatmapFigureSvg(scheme: LandmarkScheme, panels: readonly HeatmapPanel[], caption: string): string {
  for (const p of panels) {
    if (p.values.length !== scheme.count) {
      throw new Error(`heatmap "${p.title}": ${p.values.length} values for a ${scheme.count}-point scheme`);
    }
  }
  const all = panels.flatMap((p) => p.values.filter(Number.isFinite));
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const t = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);

  const xs = Array.from({ length: scheme.count }, (_, i) => scheme.template[2 * i]!);
  const ys = Array.from({ length: scheme.count }, (_, i) => scheme.template[2 * i + 1]!);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const panelSize = 420;
  const margin = 30;
  const scale = (panelSize - 2 * margin) / Math.max(maxX - minX, maxY - minY);
  const r = Math.max(2, Math.min(7, 90 / Math.sqrt(scheme.count)));
  const width = panels.length * panelSize;
  const height = panelSize + 150;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((p, k) => {
    const ox = k * panelSize + margin + (panelSize - 2 * margin - (maxX - minX) * scale) / 2;
    const oy = 60 + margin;
    parts.push(
      `<text x="${k * panelSize + panelSize / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escape(p.title)}</text>`,
    );
    if (p.subtitle)
      parts.push(
        `<text x="${k * panelSize + panelSize / 2}" y="50" text-anchor="middle" font-size="13" fill="#555">${escape(p.subtitle)}</text>`,
      );
    for (let i = 0; i < scheme.count; i++) {
      const cx = ox + (xs[i]! - minX) * scale;
      const cy = oy + (ys[i]! - minY) * scale;
      parts.push(
        `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r.toFixed(1)}" fill="${colour(t(p.values[i]!))}" stroke="#333" stroke-width="0.3"/>`,
      );
    }
  });
  // Shared colour bar.
  const barX = width / 2 - 200;
  const barY = panelSize + 70;
  parts.push(
    `<defs><linearGradient id="scale">${SCALE_STOPS.map((s) => `<stop offset="${s * 100}%" stop-color="${colour(s)}"/>`).join("")}</linearGradient></defs>`,
  );
  parts.push(`<rect x="${barX}" y="${barY}" width="400" height="14" fill="url(#scale)" stroke="#333" stroke-width="0.5"/>`);
  parts.push(`<text x="${barX}" y="${barY + 32}" font-size="13" text-anchor="middle">${lo.toFixed(2)}</text>`);
  parts.push(`<text x="${barX + 400}" y="${barY + 32}" font-size="13" text-anchor="middle">${hi.toFixed(2)}</text>`);
  parts.push(
    `<text x="${width / 2}" y="${barY + 32}" font-size="13" text-anchor="middle">mean normalised error per landmark (×100)</text>`,
  );
  parts.push(`<text x="${width / 2}" y="${barY + 62}" font-size="12" text-anchor="middle" fill="#555">${escape(caption)}</text>`);
  parts.push(`</svg>`);
  return parts.join("\n");
}
