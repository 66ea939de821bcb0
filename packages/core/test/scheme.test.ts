import { describe, expect, it } from "vitest";
import { IBUG68, IBUG68_NAMES, UsageError, groupIndices, mirrorShape, validateScheme, type LandmarkScheme } from "../src";

describe("iBug68 scheme", () => {
  it("has 68 named points in the documented groups", () => {
    expect(IBUG68.count).toBe(68);
    expect(IBUG68_NAMES).toHaveLength(68);
    expect(new Set(IBUG68_NAMES).size).toBe(68);
    expect(groupIndices(IBUG68, "jaw")).toEqual(range(0, 16));
    expect(groupIndices(IBUG68, "brows")).toEqual(range(17, 26));
    expect(groupIndices(IBUG68, "nose")).toEqual(range(27, 35));
    expect(groupIndices(IBUG68, "eyes")).toEqual(range(36, 47));
    expect(groupIndices(IBUG68, "outer-lips")).toEqual(range(48, 59));
    expect(groupIndices(IBUG68, "inner-lips")).toEqual(range(60, 67));
  });

  it("uses the standard 300-W flip permutation", () => {
    const m = Array.from(IBUG68.mirror);
    expect(m.slice(0, 17)).toEqual([16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(m.slice(36, 48)).toEqual([45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]);
    const midline = m.flatMap((j, i) => (j === i ? [i] : []));
    expect(midline).toEqual([8, 27, 28, 29, 30, 33, 51, 57, 62, 66]);
    // Mirror twins carry mirrored names (left <-> right).
    for (let i = 0; i < 68; i++)
      if (/left|right/.test(IBUG68_NAMES[i]))
        expect(IBUG68_NAMES[m[i]]).toBe(IBUG68_NAMES[i].replace(/left|right/, (s) => (s === "left" ? "right" : "left")));
  });

  it("has a template that is nearly symmetric under its own mirror", () => {
    // Flip about the face's centre line (x = c ⇔ W = 2c): each point should land near its own position.
    const t = IBUG68.template;
    const c = (t[2 * 27] + t[2 * 33]) / 2;
    const flipped = mirrorShape(t, IBUG68, 2 * c);
    let worst = 0;
    for (let i = 0; i < 68; i++) worst = Math.max(worst, Math.hypot(flipped[2 * i] - t[2 * i], flipped[2 * i + 1] - t[2 * i + 1]));
    expect(worst).toBeLessThan(0.03); // < 6% of the eye distance (0.53)
    // Image-left is the subject's right: point 36 has a smaller x than 45.
    expect(t[2 * 36]).toBeLessThan(t[2 * 45]);
  });
});

describe("mirrorShape", () => {
  const scheme: LandmarkScheme = {
    id: "tiny",
    count: 3,
    groups: ["a", "a", "b"],
    mirror: Int32Array.from([1, 0, 2]),
    template: new Float32Array(6),
  };
  it("flips x about the image width and swaps twins, for single shapes and batches", () => {
    const shape = Float32Array.from([1, 2, 7, 3, 4, 5]);
    expect(Array.from(mirrorShape(shape, scheme, 10))).toEqual([3, 3, 9, 2, 6, 5]);
    const batch = Float32Array.from([...shape, ...shape]);
    expect(Array.from(mirrorShape(batch, scheme.mirror, 10))).toEqual([3, 3, 9, 2, 6, 5, 3, 3, 9, 2, 6, 5]);
    // Flipping twice restores the shape.
    expect(Array.from(mirrorShape(mirrorShape(shape, scheme, 10), scheme, 10))).toEqual(Array.from(shape));
  });
  it("rejects a length that is not a multiple of 2·N", () => {
    expect(() => mirrorShape(new Float32Array(5), scheme, 10)).toThrow(UsageError);
  });
});

describe("validateScheme", () => {
  const good = (): LandmarkScheme => ({
    id: "s",
    count: 2,
    groups: ["a", "a"],
    mirror: Int32Array.from([1, 0]),
    template: new Float32Array(4),
  });
  it.each<[string, (s: LandmarkScheme) => void, RegExp]>([
    ["count", (s) => (s.count = 0), /count: expected a positive integer, got 0/],
    ["groups", (s) => (s.groups = ["a"]), /groups: expected 2 entries, got 1/],
    ["names", (s) => (s.names = ["x", "y", "z"]), /names: expected 2 entries, got 3/],
    ["mirror range", (s) => (s.mirror = Int32Array.from([2, 0])), /mirror\[0\]: index 2 out of range/],
    ["mirror pairing", (s) => (s.mirror = Int32Array.from([1, 1])), /mirror\[0\] = 1 but mirror\[1\] = 1/],
    ["template length", (s) => (s.template = new Float32Array(3)), /template: expected 4 floats/],
    ["template NaN", (s) => (s.template = Float32Array.from([0, NaN, 0, 0])), /template\[1\]: not a finite/],
  ])("rejects a bad %s", (_, spoil, message) => {
    const s = good();
    spoil(s);
    expect(() => validateScheme(s)).toThrow(message);
    expect(() => validateScheme(s)).toThrow(/scheme "s"/);
  });
  it("accepts a good scheme", () => expect(validateScheme(good()).id).toBe("s"));
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, k) => a + k);
}
