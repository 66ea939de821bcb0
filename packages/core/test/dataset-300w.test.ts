import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError, applySplitList, list300W, load300W, loadFace, readPts } from "../src";

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
    await expect(applySplitList(entries, join(dir, "bad-list.txt"))).rejects.toThrow(/bad-list\.txt:2: "missing\/face" is not an image/);
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
      // margin 0.25 on each side: the longer side of the landmarks' box spans 64/1.5 px (± rounding).
      expect(Math.max(b.x1 - b.x0, b.y1 - b.y0)).toBeCloseTo(64 / 1.5, 0);
      // The transform is exact: mapping back gives the .pts values (1-based → 0-based pixel centres).
      const raw = await readPts(join(dir, `${name}.pts`));
      const { left, top, scale } = face.crop;
      expect(face.landmarks[60] / scale + left).toBeCloseTo(raw[60] - 0.5, 3);
      expect(face.landmarks[61] / scale + top).toBeCloseTo(raw[61] - 0.5, 3);
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

  it("rejects a .pts file without its photo", async () => {
    const lonely = await mkdtemp(join(tmpdir(), "w300-bad-"));
    await copyFile(join(FIXTURES, "einstein.pts"), join(lonely, "alone.pts"));
    await expect(list300W(lonely)).rejects.toThrow(UsageError);
    await expect(list300W(lonely)).rejects.toThrow(/alone\.pts: no image beside it/);
  });
});
