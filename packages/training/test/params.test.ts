// The parameter registry the HourglassNet and the adaptation nets share.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { Rng } from "@lml/core";
import { beforeAll, describe, expect, it } from "vitest";
import { ParamRegistry } from "../src/params";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("ParamRegistry", () => {
  it("names variables under its prefix, lists trainables in creation order and buffers after them", () => {
    const rng = new Rng(1);
    const p = new ParamRegistry(() => rng.normal(), "net");
    const w = p.he("w1", [3, 2], 3);
    const b = p.zeros("b1", [2]);
    const mean = p.buffer("bn.mean", [2], 0);
    const g = p.ones("bn.gamma", [2]);
    expect(p.variables).toEqual([w, b, g]);
    expect(Object.keys(p.named)).toEqual(["net/w1", "net/b1", "net/bn.gamma", "net/bn.mean"]);
    expect(p.named["net/bn.mean"]).toBe(mean);
    expect(mean.trainable).toBe(false);
    expect(p.count()).toBe(6 + 2 + 2);
    expect(() => p.zeros("w1", [1])).toThrow(/net\/w1 is defined twice/);
    p.dispose();
    expect(w.isDisposed).toBe(true);
  });

  it("draws He-scaled weights from its generator, in order, so a seed fixes them", () => {
    const draws = (seed: number) => {
      const rng = new Rng(seed);
      const p = new ParamRegistry(() => rng.normal());
      const values = Array.from(p.he("w", [4, 5], 4, 0.5).dataSync());
      p.dispose();
      return values;
    };
    const rng = new Rng(7);
    const want = Array.from({ length: 20 }, () => Math.fround(rng.normal() * 0.5 * Math.sqrt(2 / 4)));
    expect(draws(7)).toEqual(want);
    expect(draws(8)).not.toEqual(want);
  });
});
