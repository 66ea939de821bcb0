import { describe, expect, it } from "vitest";
import { Rng } from "../src";

describe("Rng (mulberry32)", () => {
  it("reproduces the reference mulberry32 stream, so seeds keep their runs", () => {
    const r = new Rng(1);
    // mulberry32(1)'s first outputs (the generator every earlier copy implemented).
    expect([r.next(), r.next(), r.next()].map((x) => Math.round(x * 4294967296))).toEqual([2693262067, 11749833, 2265367787]);
    expect(r.state).toBe((1 + 3 * 0x6d2b79f5) >>> 0);
  });
  it("resumes from its state and shuffles reproducibly", () => {
    const a = new Rng(42);
    a.next();
    const b = new Rng(a.state);
    expect(b.next()).toBe(a.next());
    expect(new Rng(7).shuffle([1, 2, 3, 4, 5])).toEqual(new Rng(7).shuffle([1, 2, 3, 4, 5]));
  });
});
