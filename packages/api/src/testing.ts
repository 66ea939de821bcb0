/**
 * Test and benchmark fixtures: evaluation rows shaped like the trainer's (every test set, protocol and
 * norm, per-landmark and per-image errors, CED) with values from a seeded generator. For the e2e
 * stand-in worker and `lml bench web` only — never shown as results.
 */
import { EVAL_NORMS, REGIME_TRAITS, Rng, TEST_SET_INFO, TEST_SETS, isRegime } from "@lml/core";
import type { EvaluationInput } from "@lml/db";

/** Uniform draws in [0, 1) from core's seeded generator. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const BASE: Record<string, Record<string, number>> = {
  "synthetic-only": { "synthetic-test": 3.6, common: 8.4, challenging: 20 },
  "syn-real-label-adaptation": { "synthetic-test": 3.3, common: 5.0, challenging: 9.6 },
  "uda-discriminator": { "synthetic-test": 3.75, common: 6.6, challenging: 15 },
  "supervised-real": { "synthetic-test": 3.1, common: 6.5, challenging: 12 },
};

function ced(perImage: number[]): { cedX: number[]; cedY: number[] } {
  const cedX = Array.from({ length: 41 }, (_, i) => i * 0.25);
  const sorted = [...perImage].sort((a, b) => a - b);
  const cedY = cedX.map((x) => sorted.filter((v) => v <= x).length / sorted.length);
  return { cedX, cedY };
}

export interface FixtureOptions {
  regime: string;
  seed: number;
  /** Dense scheme point count (the synthetic test set's dense evaluation). */
  scheme: number;
  images?: number;
}

/** Evaluations for one run: dense on the synthetic test set, 68-point protocols on the real ones. */
export function fixtureEvaluations(o: FixtureOptions): EvaluationInput[] {
  const r = rng(o.seed * 7919 + o.regime.length * 104729);
  const images = o.images ?? 24;
  const base = BASE[o.regime] ?? { "synthetic-test": 4, common: 7, challenging: 14 };
  const out: EvaluationInput[] = [];
  // A 68-point model is scored "direct" everywhere; a dense one "dense" on synthetic, mapped on real.
  const predicts68 = isRegime(o.regime) && REGIME_TRAITS[o.regime].predicts === "ibug68";
  const cells: [string, string, number][] = [
    ["synthetic-test", predicts68 ? "direct" : "dense", predicts68 ? 68 : o.scheme],
    ...TEST_SETS.filter((t) => TEST_SET_INFO[t].domain === "real").flatMap((t) =>
      predicts68
        ? ([[t, "direct", 68]] as [string, string, number][])
        : ([
            [t, "nearest-subset", 68],
            [t, "test-time-mlp", 68],
          ] as [string, string, number][]),
    ),
  ];
  for (const [testSet, protocol, points] of cells) {
    for (const norm of EVAL_NORMS) {
      const scale = (norm === "inter-ocular" ? 0.72 : 1) * (protocol === "test-time-mlp" ? 0.6 : 1) * (1 + (r() - 0.5) * 0.08);
      const level = base[testSet] * scale;
      const perImage = Array.from({ length: images }, () => Math.max(0.2, level * (0.55 + r() * 0.9)));
      const nme = perImage.reduce((s, x) => s + x, 0) / images;
      // Jaw and contour points err most, eyes least: a plausible spatial pattern for the heatmap.
      const perLandmark = Array.from({ length: points }, (_, i) => {
        const u = i / points;
        return Math.max(0.1, nme * (0.6 + 0.8 * Math.abs(Math.sin(u * Math.PI * 3)) * (u < 0.25 ? 1.4 : 0.8) + (r() - 0.5) * 0.2));
      });
      const fr = (t: number) => (100 * perImage.filter((x) => x > t).length) / images;
      const { cedX, cedY } = ced(perImage);
      const auc = (t: number) => {
        const xs = cedX.filter((x) => x <= t);
        return (100 * xs.reduce((s, x) => s + cedY[cedX.indexOf(x)], 0)) / xs.length;
      };
      out.push({
        testSet,
        protocol,
        norm,
        nme,
        auc8: auc(8),
        fr8: fr(8),
        auc10: auc(10),
        fr10: fr(10),
        count: images,
        perLandmark,
        perImage,
        cedX,
        cedY,
      });
    }
  }
  return out;
}

/** A training curve pair (loss and validation NME) over `steps`. */
export function fixtureCurves(seed: number, steps: number, final: number): { name: string; step: number; value: number }[] {
  const r = rng(seed);
  const out: { name: string; step: number; value: number }[] = [];
  for (let s = 0; s < steps; s++) {
    out.push({ name: "loss", step: s, value: 0.05 + 2 * Math.exp(-s / (steps / 4)) * (1 + (r() - 0.5) * 0.2) });
    if (s % Math.max(1, Math.floor(steps / 10)) === 0 || s === steps - 1)
      out.push({ name: "val/nme", step: s, value: final + 15 * Math.exp(-s / (steps / 3)) });
  }
  return out;
}
