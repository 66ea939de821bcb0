import { describe, expect, it } from "vitest";
import { UsageError, comparePaired, mean, pairedTTest, sampleStd, summarize, wilcoxonSignedRank } from "../src";

describe("summaries", () => {
  it("computes mean, sample std and the t-based 95% CI by hand", () => {
    const s = summarize([1, 2, 3]);
    expect(s.mean).toBe(2);
    expect(s.std).toBe(1); // sqrt(((1)² + 0 + (1)²) / 2)
    // t(0.975, 2) = 4.302653; half width = 4.302653 · 1/√3
    expect(s.ciLow).toBeCloseTo(2 - 4.302653 / Math.sqrt(3), 5);
    expect(s.ciHigh).toBeCloseTo(2 + 4.302653 / Math.sqrt(3), 5);
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });
  it("reports NaN spread for a single value rather than a fake zero", () => {
    const s = summarize([3.5]);
    expect(s.mean).toBe(3.5);
    expect(s.std).toBeNaN();
    expect(s.ciLow).toBeNaN();
    expect(mean([])).toBeNaN();
  });
});

describe("paired t-test", () => {
  it("matches the closed form of the t(2) distribution", () => {
    // d = a − b = [1, 2, 3]: t = 2 / (1/√3) = √12; for 2 dof, F(t) = 1/2 + t / (2√(2 + t²)).
    const r = pairedTTest([2, 4, 6], [1, 2, 3]);
    expect(r.t).toBeCloseTo(Math.sqrt(12), 10);
    expect(r.df).toBe(2);
    expect(r.p).toBeCloseTo(2 * (0.5 - Math.sqrt(12) / (2 * Math.sqrt(14))), 6);
  });
  it("handles zero-variance differences and rejects unpaired data", () => {
    expect(pairedTTest([1, 2], [1, 2]).p).toBe(1);
    expect(pairedTTest([2, 3], [1, 2]).p).toBe(0);
    expect(() => pairedTTest([1, 2], [1])).toThrow(UsageError);
  });
});

describe("Wilcoxon signed-rank", () => {
  it("gives the exact p for small samples", () => {
    // All 5 differences positive: only 1 of 2⁵ sign patterns is as extreme on each side → p = 2/32.
    const r = wilcoxonSignedRank([2, 3, 4, 5, 6], [1, 1, 1, 1, 1]);
    expect(r).toMatchObject({ n: 5, wPlus: 15, wMinus: 0, exact: true });
    expect(r.p).toBeCloseTo(0.0625, 12);
    // d = [1, −2, 3, 4]: W− = 2; P(W ≤ 2) = #{∅, {1}, {2}} / 16 = 3/16 → p = 6/16.
    expect(wilcoxonSignedRank([1, -2, 3, 4], [0, 0, 0, 0]).p).toBeCloseTo(6 / 16, 12);
  });
  it("drops zero differences and uses the tie-corrected normal approximation with ties", () => {
    // d = [0, 1, 1, −1, 2, 2, 2]: zeros dropped (n = 6), ranks 2,2,2,5,5,5, W− = 2, W+ = 19.
    const r = wilcoxonSignedRank([0, 1, 1, -1, 2, 2, 2], [0, 0, 0, 0, 0, 0, 0]);
    expect(r).toMatchObject({ n: 6, wPlus: 19, wMinus: 2, exact: false });
    // σ² = 6·7·13/24 − (2·(27 − 3))/48 = 22.75 − 1 = 21.75; z = (|19 − 10.5| − 0.5)/σ.
    const z = 8 / Math.sqrt(21.75);
    expect(r.p).toBeCloseTo(2 * (1 - normalCdf(z)), 6);
  });
  it("returns p = 1 when the models agree everywhere", () => {
    expect(wilcoxonSignedRank([1, 2], [1, 2]).p).toBe(1);
  });
});

describe("comparePaired", () => {
  it("flags a consistent improvement as significant and noise as not", () => {
    const base = Array.from({ length: 40 }, (_, i) => 5 + Math.sin(i * 1.7));
    const better = base.map((v, i) => v - 0.3 - 0.05 * Math.cos(i));
    const noisy = base.map((v, i) => v + (i % 2 ? 0.2 : -0.2) + 0.01 * Math.sin(i));
    const c = comparePaired(better, base);
    expect(c.significant).toBe(true);
    expect(c.meanDiff).toBeLessThan(0);
    expect(comparePaired(noisy, base).significant).toBe(false);
    expect(comparePaired(noisy, base, { method: "t" }).p).toBe(comparePaired(noisy, base).tTest.p);
  });
});

/** Φ via the Abramowitz–Stegun erf approximation (|error| < 1.5e-7), independent of the code under test. */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
