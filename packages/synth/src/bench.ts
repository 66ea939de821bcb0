/** Measures rendering speed: faces/second by wall clock and per CPU-second of this process (measured, not targets). */
import { loadavg } from "node:os";
import { GENERATOR_VERSION, renderSample } from "./render";
import { boundScheme } from "./scheme";
import { precomputedStats } from "./precomputed";

export interface SynthBench {
  bench: "synth";
  generatorVersion: string;
  points: number;
  setupMs: number;
  /** Where the set-up came from: "read" (the disk cache), "built" (and written for next time) or "uncached". */
  setupFrom: string;
  sizes: { size: number; faces: number; wallFacesPerSec: number; cpuFacesPerSec: number }[];
  loadavg1: number;
  note: string;
}

export function benchSynth(opts: { seconds?: number; points?: number; sizes?: number[] } = {}): SynthBench {
  const seconds = opts.seconds ?? 3, points = opts.points ?? 490, sizes = opts.sizes ?? [64, 128];
  const t0 = performance.now();
  boundScheme(points);
  renderSample({ domain: "synthetic", split: "train", index: 0, seed: 1, size: 64, channels: 1, scheme: points });
  const setupMs = performance.now() - t0;
  const out: SynthBench["sizes"] = [];
  for (const size of sizes) {
    for (let i = 0; i < 20; i++) renderSample({ domain: "synthetic", split: "train", index: i, seed: 2, size, channels: 1, scheme: points });
    const w0 = performance.now(), c0 = process.cpuUsage();
    let n = 0;
    while (performance.now() - w0 < seconds * 1000) renderSample({ domain: "synthetic", split: "train", index: n++, seed: 3, size, channels: 1, scheme: points });
    const wall = (performance.now() - w0) / 1000;
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    out.push({ size, faces: n, wallFacesPerSec: Math.round((n / wall) * 10) / 10, cpuFacesPerSec: Math.round((n / cpu) * 10) / 10 });
  }
  return {
    bench: "synth", generatorVersion: GENERATOR_VERSION, points, setupMs: Math.round(setupMs),
    setupFrom: precomputedStats.uncached ? "uncached" : precomputedStats.built ? "built" : "read", sizes: out, loadavg1: Math.round(loadavg()[0] * 100) / 100,
    note: "single thread, grayscale, synthetic/train; cpuFacesPerSec divides by this process's CPU time, so it stays meaningful on a busy machine",
  };
}
