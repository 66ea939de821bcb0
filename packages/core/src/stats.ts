/// <reference path="./types/jstat.d.ts" />
import jStat from "jstat";
import { UsageError } from "./errors";

/**
 * Statistics for results tables: summaries over seeds/runs and paired tests between two models scored
 * on the same images. The t distribution comes from jstat; the Wilcoxon signed-rank test is written
 * here (jstat has none) following Wilcoxon's zero-dropping method, as scipy.stats.wilcoxon does by default.
 */

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN for fewer than 2 values. */
export function sampleStd(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample std; NaN when n < 2. */
  std: number;
  /** Confidence interval of the mean (t distribution, n − 1 degrees of freedom); NaNs when n < 2. */
  ciLow: number;
  ciHigh: number;
}

/** Mean, sample std and the `level` (default 95 %) t-based confidence interval of the mean. */
export function summarize(xs: ArrayLike<number>, level = 0.95): Summary {
  const n = xs.length;
  const m = mean(xs);
  const s = sampleStd(xs);
  if (n < 2) return { n, mean: m, std: s, ciLow: NaN, ciHigh: NaN };
  const half = (jStat.studentt.inv(1 - (1 - level) / 2, n - 1) * s) / Math.sqrt(n);
  return { n, mean: m, std: s, ciLow: m - half, ciHigh: m + half };
}

export interface PairedTTest {
  n: number;
  /** Mean of a − b (negative: a has the smaller error). */
  meanDiff: number;
  t: number;
  df: number;
  /** Two-sided p-value; NaN when n < 2. */
  p: number;
}

function differences(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) throw new UsageError(`paired test needs the same images for both models: ${a.length} vs ${b.length} values`);
  return Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
}

/** Paired Student t-test of H0: mean(a − b) = 0, two-sided. */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTest {
  const d = differences(a, b);
  const n = d.length;
  const m = mean(d);
  const s = sampleStd(d);
  const df = n - 1;
  if (n < 2) return { n, meanDiff: m, t: NaN, df, p: NaN };
  // Identical differences: no variance, so either no difference at all or a certain one.
  if (s === 0) return { n, meanDiff: m, t: m === 0 ? 0 : Math.sign(m) * Infinity, df, p: m === 0 ? 1 : 0 };
  const t = m / (s / Math.sqrt(n));
  const p = Math.min(1, 2 * (1 - jStat.studentt.cdf(Math.abs(t), df)));
  return { n, meanDiff: m, t, df, p };
}

export interface WilcoxonTest {
  /** Pairs with a non-zero difference (zeros are dropped). */
  n: number;
  /** Sum of the ranks of positive differences (a > b) and of negative ones. */
  wPlus: number;
  wMinus: number;
  /** Two-sided p-value: exact for n ≤ 25 without ties, else normal approximation with tie and continuity corrections. */
  p: number;
  exact: boolean;
}

/** Wilcoxon signed-rank test of H0: the differences a − b are symmetric about 0, two-sided. */
export function wilcoxonSignedRank(a: ArrayLike<number>, b: ArrayLike<number>): WilcoxonTest {
  const d = Array.from(differences(a, b)).filter((v) => v !== 0);
  const n = d.length;
  if (n === 0) return { n, wPlus: 0, wMinus: 0, p: 1, exact: true };
  // Average ranks of |d| (ties share the mean of the ranks they span).
  const order = d.map((v, i) => [Math.abs(v), i] as const).sort((x, y) => x[0] - y[0]);
  const rank = new Float64Array(n);
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && order[j + 1][0] === order[i][0]) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) rank[order[k][1]] = r;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  let wPlus = 0;
  for (let i = 0; i < n; i++) if (d[i] > 0) wPlus += rank[i];
  const total = (n * (n + 1)) / 2;
  const wMinus = total - wPlus;
  const w = Math.min(wPlus, wMinus);
  if (n <= 25 && tieTerm === 0) {
    // Exact null distribution: counts[s] = number of sign patterns whose positive ranks sum to s.
    const counts = new Float64Array(total + 1);
    counts[0] = 1;
    for (let r = 1; r <= n; r++) for (let s = total; s >= r; s--) counts[s] += counts[s - r];
    let tail = 0;
    for (let s = 0; s <= w; s++) tail += counts[s];
    return { n, wPlus, wMinus, p: Math.min(1, (2 * tail) / 2 ** n), exact: true };
  }
  const mu = total / 2;
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
  if (sigma === 0) return { n, wPlus, wMinus, p: 1, exact: false };
  const z = Math.max(0, Math.abs(wPlus - mu) - 0.5) / sigma;
  return { n, wPlus, wMinus, p: Math.min(1, 2 * (1 - jStat.normal.cdf(z, 0, 1))), exact: false };
}

export interface PairedComparison {
  n: number;
  meanDiff: number;
  tTest: PairedTTest;
  wilcoxon: WilcoxonTest;
  /** p of the chosen test (`method`). */
  p: number;
  /** p < alpha: what the dashboard's "not significant" marker negates. */
  significant: boolean;
}

/**
 * Is model A different from model B on the same images (per-image NMEs in one order)? Runs both tests;
 * `method` picks the one that decides `significant` (default Wilcoxon: per-image NMEs are heavy-tailed).
 */
export function comparePaired(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { alpha?: number; method?: "wilcoxon" | "t" } = {},
): PairedComparison {
  const alpha = options.alpha ?? 0.05;
  const tTest = pairedTTest(a, b);
  const wilcoxon = wilcoxonSignedRank(a, b);
  const p = (options.method ?? "wilcoxon") === "t" ? tTest.p : wilcoxon.p;
  return { n: tTest.n, meanDiff: tTest.meanDiff, tTest, wilcoxon, p, significant: p < alpha };
}
