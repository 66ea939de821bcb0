import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import {
  FACE_CROP_SCALE,
  UsageError,
  applySplitList,
  formatPts,
  framingOf,
  list300W,
  load300W,
  loadFace,
  readImageResized,
  readPts,
} from "../src";

// shared/ sits beside the repository root (in CI too).
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68");
let dir: string;

beforeAll(async () => {
  // A small 300-W-like tree: photos in nested folders, each beside its .pts.
  dir = await mkdtemp(join(tmpdir(), "w300-"));
  await mkdir(join(dir, "a"), { recursive: true });
  await mkdir(join(dir, "b", "c"), { recursive: true });
  for (const ext of ["jpg", "pts"]) {
    await copyFile(join(FIXTURES, `einstein.${ext}`), join(dir, "a", `einstein.${ext}`));
    await copyFile(join(FIXTURES, `breakingbad.${ext}`), join(dir, "b", "c", `breakingbad.${ext}`));
  }
  await writeFile(join(dir, "a", "no-labels.png"), ""); // a photo without .pts is ignored
  await writeFile(join(dir, "list.txt"), "# common subset\nb/c/breakingbad.jpg\n\n");
});

function bounds(p: Float32Array) {
  const xs = p.filter((_, i) => i % 2 === 0);
  const ys = p.filter((_, i) => i % 2 === 1);
  return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
}

describe("300-W folder loader", () => {
  it("pairs each image with its .pts recursively", async () => {
    const entries = await list300W(dir);
    expect(entries.map((e) => e.name)).toEqual(["a/einstein", "b/c/breakingbad"]);
    expect(entries[0].imagePath).toBe(join(dir, "a", "einstein.jpg"));
  });

  it("filters by a split list and names a bad list line", async () => {
    const entries = await list300W(dir);
    expect((await applySplitList(entries, join(dir, "list.txt"))).map((e) => e.name)).toEqual(["b/c/breakingbad"]);
    await writeFile(join(dir, "bad-list.txt"), "a/einstein\nmissing/face\n");
    await expect(applySplitList(entries, join(dir, "bad-list.txt"), dir)).rejects.toThrow(
      /bad-list\.txt:2: line 2 is not an image with a \.pts in the dataset folder$/,
    );
  });

  it("refuses list entries outside the dataset folder and never quotes a line (issue 16.1)", async () => {
    const entries = await list300W(dir);
    for (const line of ["../../etc/passwd", "/etc/passwd", "a/../../x", "root:x:0:0:root:/root:/bin/bash"]) {
      await writeFile(join(dir, "evil.txt"), `a/einstein\n${line}\n`);
      const err = await applySplitList(entries, join(dir, "evil.txt"), dir).catch((e: Error) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/evil\.txt:2: line 2 is not /);
      expect((err as Error).message).not.toContain(line);
    }
    // "./" and an extension are fine
    await writeFile(join(dir, "ok.txt"), "./a/einstein.jpg\nb/c/breakingbad.pts\n");
    expect((await applySplitList(entries, join(dir, "ok.txt"), dir)).map((e) => e.name)).toEqual(["a/einstein", "b/c/breakingbad"]);
  });

  it.each([
    ["einstein (grayscale photo)", "a/einstein"],
    ["breakingbad (face in a large scene)", "b/c/breakingbad"],
  ])("crops %s so that its landmarks land inside the crop", async (_, name) => {
    for (const channels of [1, 3] as const) {
      const faces = await load300W(dir, { inputSize: 64, channels, margin: 0.25 });
      const face = faces.find((f) => f.name === name)!;
      expect(face.image).toHaveLength(64 * 64 * channels);
      expect(face.image.every((v) => v >= 0 && v <= 1)).toBe(true);
      const b = bounds(face.landmarks);
      expect(b.x0).toBeGreaterThan(0);
      expect(b.y0).toBeGreaterThan(0);
      expect(b.x1).toBeLessThan(64);
      expect(b.y1).toBeLessThan(64);
      // margin 0.25 on each side: the longer side of the landmarks' box spans 64/1.5 px, sub-pixel exact.
      expect(Math.max(b.x1 - b.x0, b.y1 - b.y0)).toBeCloseTo(64 / 1.5, 3);
      // The transform is exact: mapping back gives the .pts values (1-based → 0-based pixel centres).
      const raw = await readPts(join(dir, `${name}.pts`));
      const { left, top, scale } = face.crop;
      for (const k of [0, 60, 134]) {
        expect(face.landmarks[k] / scale + left).toBeCloseTo(raw[k] - 0.5, 3);
        expect(face.landmarks[k + 1] / scale + top).toBeCloseTo(raw[k + 1] - 0.5, 3);
      }
      // A face, not padding: the crop is mostly lit.
      const meanValue = face.image.reduce((a, v) => a + v, 0) / face.image.length;
      expect(meanValue).toBeGreaterThan(0.1);
    }
  });

  it("pads with black where a wide margin leaves the photo", async () => {
    const [entry] = (await list300W(dir)).filter((e) => e.name === "b/c/breakingbad");
    const face = await loadFace(entry, { inputSize: 32, channels: 3, margin: 2 });
    expect(face.crop.top).toBeLessThan(0); // the crop starts above the photo
    expect(Array.from(face.image.subarray(0, 3))).toEqual([0, 0, 0]);
    const b = bounds(face.landmarks);
    expect(b.x0).toBeGreaterThan(0);
    expect(b.y1).toBeLessThan(32);
  });

  it("frames by core's rule by default: the 68-point box is 1/1.4 of the image and centred, exactly", async () => {
    for (const face of await load300W(dir, { inputSize: 64, channels: 1 })) {
      const f = framingOf(face.landmarks, 64);
      expect(f.side).toBeCloseTo(1 / FACE_CROP_SCALE, 5);
      expect(f.cx).toBeCloseTo(0.5, 5);
      expect(f.cy).toBeCloseTo(0.5, 5);
    }
  });

  it("puts image content where it puts the landmarks (sub-pixel, shrinking and enlarging)", async () => {
    // A dark 300×200 photo with a bright 4×4 square at x∈[150.0, 154), y∈[90, 94): centroid (152, 92).
    // Its "landmarks": 68 points on a box [100.3, 190.7] × [60.2, 130.9], the square's centroid among them.
    const W = 300,
      H = 200;
    const px = Buffer.alloc(W * H * 3, 10);
    for (let y = 90; y < 94; y++) for (let x = 150; x < 154; x++) px.fill(250, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      pts[2 * i] = 100.3 + ((190.7 - 100.3) * (i % 4)) / 3;
      pts[2 * i + 1] = 60.2 + ((130.9 - 60.2) * (i % 3)) / 2;
    }
    pts[0] = 152;
    pts[1] = 92;
    const d = await mkdtemp(join(tmpdir(), "w300-dot-"));
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(join(d, "dot.png"));
    await writeFile(join(d, "dot.pts"), formatPts(pts.map((v) => v + 0.5))); // 1-based on disk
    for (const size of [32, 64, 256]) {
      const [face] = await load300W(d, { inputSize: size, channels: 1 });
      let sx = 0,
        sy = 0,
        s = 0;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const v = Math.max(0, face.image[y * size + x] - 10 / 255);
          sx += v * (x + 0.5);
          sy += v * (y + 0.5);
          s += v;
        }
      // the square's centroid lands on landmark 0 (to a small fraction of an output pixel)
      expect(Math.abs(sx / s - face.landmarks[0]), `x at ${size}`).toBeLessThan(0.02 * Math.max(1, size / 128));
      expect(Math.abs(sy / s - face.landmarks[1]), `y at ${size}`).toBeLessThan(0.02 * Math.max(1, size / 128));
    }
  });

  it("re-frames a crop already cut by the rule as the identity: the same pixels lml predict reads", async () => {
    // A 300w128-style crop made from the fixture, then read again by the loader at the model size.
    const [framed] = await load300W(dir, { inputSize: 128, channels: 3, limit: 1 });
    const d = await mkdtemp(join(tmpdir(), "w300-crop-"));
    const bytes = Buffer.from(framed.image.map((v) => Math.round(v * 255)));
    await sharp(bytes, { raw: { width: 128, height: 128, channels: 3 } })
      .png()
      .toFile(join(d, "face.png"));
    await writeFile(join(d, "face.pts"), formatPts(framed.landmarks.map((v) => v + 0.5)));
    const [again] = await load300W(d, { inputSize: 64, channels: 3 });
    expect(again.crop).toEqual({ left: 0, top: 0, side: 128, scale: 0.5 });
    expect(Array.from(again.image)).toEqual(Array.from((await readImageResized(join(d, "face.png"), 64, 3)).image));
    for (let k = 0; k < 136; k++) expect(again.landmarks[k]).toBeCloseTo(framed.landmarks[k] / 2, 4);
  });

  it("requires 68 points, naming the file and line (issue 16.5)", async () => {
    const d = await mkdtemp(join(tmpdir(), "w300-67-"));
    await copyFile(join(FIXTURES, "einstein.jpg"), join(d, "e.jpg"));
    const raw = await readPts(join(FIXTURES, "einstein.pts"));
    await writeFile(join(d, "e.pts"), formatPts(raw.slice(0, 134)));
    await expect(load300W(d, { inputSize: 32, channels: 1 })).rejects.toThrow(/e\.pts:2: n_points is 67, expected 68/);
    await writeFile(join(d, "e.pts"), formatPts([...raw, 1, 1]));
    await expect(load300W(d, { inputSize: 32, channels: 1 })).rejects.toThrow(UsageError);
    await expect(load300W(d, { inputSize: 32, channels: 1 })).rejects.toThrow(/e\.pts:2: n_points is 69, expected 68/);
  });

  it("rejects a .pts file without its photo", async () => {
    const lonely = await mkdtemp(join(tmpdir(), "w300-bad-"));
    await copyFile(join(FIXTURES, "einstein.pts"), join(lonely, "alone.pts"));
    await expect(list300W(lonely)).rejects.toThrow(UsageError);
    await expect(list300W(lonely)).rejects.toThrow(/alone\.pts: no image beside it/);
  });
});
