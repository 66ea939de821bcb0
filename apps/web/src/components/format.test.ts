import { describe, expect, it } from "vitest";
import { diverging, sequential } from "./color";
import { duration, num } from "./format";

describe("dashboard formatting", () => {
  it("prints durations at a readable granularity", () => {
    expect(duration(null)).toBe("—");
    expect(duration(42_000)).toBe("42s");
    expect(duration(61_000)).toBe("1m 01s");
    expect(duration(3_600_000 + 5 * 60_000)).toBe("1h 05m");
    expect(duration(3 * 86_400_000 + 3_600_000)).toBe("3d 1h");
  });
  it("prints metrics with three decimals and a dash for missing ones", () => {
    expect(num(3.2781)).toBe("3.278");
    expect(num(undefined)).toBe("—");
    expect(num(Number.NaN)).toBe("—");
  });
  it("maps the ends and the middle of the colour scales", () => {
    expect(sequential(0)).toBe("rgb(255,247,188)");
    expect(sequential(1)).toBe("rgb(103,0,31)");
    expect(diverging(0.5)).toBe("rgb(247,247,247)");
    expect(sequential(Number.NaN)).toBe(sequential(0));
  });
});
