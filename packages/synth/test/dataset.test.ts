/** The on-disk dataset cache and the contact sheet behind `lml synth preview`. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { createDataset, GENERATOR_VERSION, type DatasetOptions, type Sample } from "../src/index";
import { contactSheet } from "../src/preview";
import { HAS_SFM } from "./models";

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), "lml-synth-test-")); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
function expectSame(a: Sample, b: Sample, what: string): void {
  expect(bytes(a.image).equals(bytes(b.image)), `${what}: image`).toBe(true);
  expect(bytes(a.landmarks).equals(bytes(b.landmarks)), `${what}: landmarks`).toBe(true);
  expect(bytes(a.visible).equals(bytes(b.visible)), `${what}: visible`).toBe(true);
  expect(bytes(a.landmarks68).equals(bytes(b.landmarks68)), `${what}: landmarks68`).toBe(true);
  expect(a.pose, `${what}: pose`).toEqual(b.pose);
}

describe("dataset cache", () => {
  it("gives bit-identical samples to rendering, reuses the file, and misses on any changed option", () => {
    const dir = tmp();
    for (const base of [
      { domain: "synthetic", split: "train", count: 5, seed: 3, size: 64, channels: 1, scheme: 243 },
      { domain: "proxy-real", split: "challenging", count: 4, seed: 3, size: 64, channels: 3, scheme: 68 },
    ] as DatasetOptions[]) {
      const live = createDataset(base);
      const first = createDataset({ ...base, cacheDir: dir }); // renders and writes
      const files = readdirSync(dir).filter((f) => f.startsWith(base.domain));
      expect(files).toHaveLength(1);
      const file = join(dir, files[0]);
      const mtime = statSync(file).mtimeMs;
      const again = createDataset({ ...base, cacheDir: dir }); // reads
      expect(statSync(file).mtimeMs).toBe(mtime);
      for (let i = 0; i < base.count; i++) {
        expectSame(first.get(i), live.get(i), `${base.domain} #${i} (written)`);
        expectSame(again.get(i), live.get(i), `${base.domain} #${i} (read back)`);
      }
      const [b1] = [...again.batches(base.count)], [b2] = [...live.batches(base.count)];
      expect(bytes(b1.images).equals(bytes(b2.images))).toBe(true);
      // every option that changes the bytes gets its own file
      const before = readdirSync(dir).length;
      const changes: Partial<DatasetOptions>[] = [{ seed: 4 }, { size: 72 }, { split: "test" }, { count: base.count + 1 }, { channels: base.channels === 1 ? 3 : 1 }];
      if (base.domain === "synthetic") changes.push({ scheme: 68 });
      if (HAS_SFM) changes.push({ faceModel: "procedural" }); // the key holds the face model "auto" resolved to
      for (const c of changes) createDataset({ ...base, ...c, cacheDir: dir }).get(0);
      expect(readdirSync(dir).length).toBe(before + changes.length);
    }
  });

  it("re-renders a file written by another generator version or cut short", () => {
    const dir = tmp();
    const o: DatasetOptions = { domain: "synthetic", split: "common", count: 3, seed: 8, size: 64, channels: 1, scheme: 68 };
    const ref = createDataset({ ...o, cacheDir: dir }).get(2);
    const file = join(dir, readdirSync(dir)[0]);
    const good = readFileSync(file);
    const stale = Buffer.from(good.toString("latin1").replace(`"version":"${GENERATOR_VERSION}"`, `"version":"${"x".repeat(GENERATOR_VERSION.length)}"`), "latin1");
    expect(stale.equals(good)).toBe(false);
    writeFileSync(file, stale);
    expectSame(createDataset({ ...o, cacheDir: dir }).get(2), ref, "stale version");
    expect(readFileSync(file).equals(good)).toBe(true); // rewritten
    writeFileSync(file, good.subarray(0, good.length - 100));
    expectSame(createDataset({ ...o, cacheDir: dir }).get(2), ref, "truncated");
    expect(readFileSync(file).equals(good)).toBe(true);
  });
});

describe("preview", () => {
  it("draws a contact sheet PNG of the requested grid", async () => {
    const png = await contactSheet({ domain: "proxy-real", split: "challenging", scheme: 68, count: 5, seed: 1, size: 64, cell: 96 });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(3 * 96);
    expect(meta.height).toBe(2 * 96 + 28); // two rows under the banner
  });

  it("`lml synth preview` writes a PNG file", async () => {
    const root = resolve(__dirname, "../../..");
    const out = join(tmp(), "sheet.png");
    const r = spawnSync(process.execPath, [join(root, "scripts/lml.mjs"), "synth", "preview", "--scheme", "490", "--domain", "synthetic", "--split", "train", "--count", "4", "--seed", "1", "--size", "64", "--out", out], { cwd: root, encoding: "utf8", timeout: 110_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("wrote");
    const meta = await sharp(readFileSync(out)).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(2 * 192);
    const bad = spawnSync(process.execPath, [join(root, "scripts/lml.mjs"), "synth", "preview", "--domain", "real", "--out", out], { cwd: root, encoding: "utf8", timeout: 110_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--domain");
  });
});

describe("stats", () => {
  it("`lml synth stats --json` prints a domain's framing, colour and pose statistics; a bad domain exits 2", () => {
    const root = resolve(__dirname, "../../..");
    const r = spawnSync(process.execPath, [join(root, "scripts/lml.mjs"), "synth", "stats", "--domain", "synthetic", "--count", "3", "--size", "64", "--json"], { cwd: root, encoding: "utf8", timeout: 110_000 });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { domain: string; count: number; framing: { side: { mean: number } }; colour: { luminance: { counts: number[] } }; pose: { yaw: { mean: number } } };
    expect(s.domain).toBe("synthetic");
    expect(s.count).toBe(3);
    expect(s.framing.side.mean).toBeCloseTo(1 / 1.4, 3);
    expect(s.colour.luminance.counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(Number.isFinite(s.pose.yaw.mean)).toBe(true);
    const bad = spawnSync(process.execPath, [join(root, "scripts/lml.mjs"), "synth", "stats", "--domain", "photos"], { cwd: root, encoding: "utf8", timeout: 110_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--domain");
  });
});

describe("precomputed start-up cache", () => {
  it("round-trips nested typed arrays, reads instead of rebuilding, and rebuilds a broken file", async () => {
    const { precomputed } = await import("../src/precomputed");
    const dir = tmp();
    const saved = process.env.LML_SYNTH_CACHE_DIR;
    process.env.LML_SYNTH_CACHE_DIR = dir;
    try {
      let builds = 0;
      const build = () => {
        builds++;
        return { rows: 3, name: "x", phi: Float64Array.from([0.1, -Math.PI, 1e-300]), bases: [{ idx: Uint32Array.from([1, 2, 3]), d: Float32Array.from([0.5, -2.25, 1 / 3]) }], face: Uint8Array.from([0, 1, 1, 0, 1]), ints: Int32Array.from([-7]) };
      };
      const a = precomputed("t", build), b = precomputed("t", build);
      expect(builds).toBe(1);
      expect(b).toEqual(a);
      expect(b.phi).toBeInstanceOf(Float64Array);
      expect(b.bases[0].d).toBeInstanceOf(Float32Array);
      const file = join(dir, readdirSync(dir).find((f) => f.startsWith("t-"))!);
      writeFileSync(file, readFileSync(file).subarray(0, 20));
      expect(precomputed("t", build)).toEqual(a);
      expect(builds).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.LML_SYNTH_CACHE_DIR; else process.env.LML_SYNTH_CACHE_DIR = saved;
    }
  });
});
