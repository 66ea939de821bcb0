/**
 * The peers script's scoring path (lml eval on .pts folders → a schema-checked reference row) on shapes
 * made here, so it runs without the dataset, dlib or face-api; and, when those are present, the whole
 * script on three real crops (skipped with the reason otherwise).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PeerReferenceFileSchema, PeerRowSchema } from "@lml/api/reference";
import { formatPts } from "@lml/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DLIB_APT, FACE_API_INSTALL, missingDataset, missingForDlib, missingForFaceApi } from "../prerequisites";
import { repoRoot, scorePredictions } from "../score";

/** A 68-point shape with distinct eye centres: a 10-column grid of points, 5 px apart. */
function shape(dy: number): number[] {
  return Array.from({ length: 68 }, (_, k) => [10 + (k % 10) * 5, 10 + Math.floor(k / 10) * 5 + dy]).flat();
}
function interPupil(s: number[]): number {
  const centre = (from: number) => [0, 1].map((c) => [0, 1, 2, 3, 4, 5].reduce((a, k) => a + s[2 * (from + k) + c], 0) / 6);
  const [a, b] = [centre(36), centre(42)];
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

let base: string;
const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "lml-peers-test-"));
  temporary.push(base);
  await mkdir(join(base, "gt"));
  await mkdir(join(base, "pred"));
  // a: every point off by (3, 4) = 5 px; b: exact.
  await writeFile(join(base, "gt", "a.pts"), formatPts(shape(0)));
  await writeFile(join(base, "gt", "b.pts"), formatPts(shape(2)));
  await writeFile(join(base, "pred", "a.pts"), formatPts(shape(0).map((v, k) => v + (k % 2 ? 4 : 3))));
  await writeFile(join(base, "pred", "b.pts"), formatPts(shape(2)));
});

const row = (scores: ReturnType<typeof scorePredictions>) => ({
  key: "face-api",
  name: "test peer",
  method: "test",
  software: { "npm x": "1.0.0" },
  model: { file: "model.bin", bytes: 1, sha256: "0".repeat(64) },
  protocol: "test",
  testSet: "common",
  n: scores.n,
  metrics: scores.metrics,
  detectorFailures: 0,
  wallSeconds: 1,
  measuredAt: new Date().toISOString(),
  machine: { cpu: "x", cores: 1, memoryGiB: 1, os: "x", node: "v20" },
  command: "test",
  perImage: scores.perImage.map((p) => ({ ...p, box: "fixed" })),
});

// Each lml eval spawn takes a few seconds on a loaded 2-core machine.
describe("peers: scoring path", { timeout: 120_000 }, () => {
  it("scores a predictions folder with lml eval under both norms, per image, into a valid row", () => {
    const scores = scorePredictions(join(base, "pred"), join(base, "gt"));
    const e = 500 / interPupil(shape(0)); // image a's inter-pupil NME (×100); b's is 0
    const io = 500 / Math.hypot(shape(0)[72] - shape(0)[90], shape(0)[73] - shape(0)[91]); // outer corners 36, 45
    expect(scores.n).toBe(2);
    expect(scores.perImage.map((p) => p.name)).toEqual(["a.pts", "b.pts"]);
    expect(scores.perImage[0].nme["inter-pupil"]).toBeCloseTo(e, 4);
    expect(scores.perImage[0].nme["inter-ocular"]).toBeCloseTo(io, 4);
    expect(scores.perImage[1].nme["inter-pupil"]).toBe(0);
    expect(scores.metrics["inter-pupil"].nme).toBeCloseTo(e / 2, 4);
    expect(scores.metrics["inter-ocular"].nme).toBeCloseTo(io / 2, 4);
    expect(scores.metrics["inter-pupil"].fr8).toBe(e > 8 ? 0.5 : 0);

    expect(PeerRowSchema.safeParse(row(scores)).success).toBe(true);
    // The cross-field rules: the aggregate is the mean of the per-image NMEs, and n counts them.
    const wrongMean = row(scores);
    wrongMean.metrics = { ...scores.metrics, "inter-pupil": { ...scores.metrics["inter-pupil"], nme: e } };
    expect(PeerRowSchema.safeParse(wrongMean).error?.issues[0].message).toMatch(/not the mean of perImage/);
    expect(PeerRowSchema.safeParse({ ...row(scores), n: 3 }).error?.issues[0].message).toMatch(/2 per-image entries for n = 3/);
  });

  it("names a missing GT file and exits through a clear error", () => {
    expect(() => scorePredictions(join(base, "pred"), join(base, "nowhere"))).toThrow(/--gt .*nowhere: not a folder/);
  });

  it("says what is missing and the command that provides it", async () => {
    expect(missingDataset(join(base, "no-such-set"))[0]).toMatchObject({
      what: expect.stringContaining("no-such-set"),
      fix: expect.stringContaining("--dir"),
    });
    expect(missingDataset(join(base, "gt"))[0].what).toMatch(/\.jpg and \.pts/);
    const dlib = missingForDlib(join(base, "no-model.dat"));
    expect(dlib.map((m) => m.what).join("\n")).toMatch(/no-model\.dat/);
    for (const m of dlib) expect(m.fix).toBe(DLIB_APT);
    for (const m of missingForFaceApi()) expect(m.fix).toBe(FACE_API_INSTALL);
  });
});

const DATASET = join(repoRoot, "..", "shared", "datasets", "300w128");
const CROPS = ["helen_296814969_3", "lfpw_image_0001", "lfpw_image_0002"];

/** The whole script on three real crops (in a temporary dataset folder), or the reason it cannot run. */
function endToEnd(peer: "dlib" | "face-api", skip: (note: string) => never) {
  const missing = [...missingDataset(join(DATASET, "common")), ...(peer === "dlib" ? missingForDlib() : missingForFaceApi())];
  if (missing.length) skip(`${peer}: ${missing.map((m) => m.what).join("; ")}`);
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), "lml-peers-e2e-"));
    temporary.push(dir);
    await mkdir(join(dir, "common"));
    for (const stem of CROPS)
      for (const ext of [".jpg", ".pts"]) await copyFile(join(DATASET, "common", stem + ext), join(dir, "common", stem + ext));
    const out = join(dir, "peers.json");
    const r = spawnSync(process.execPath, [join(repoRoot, "scripts", "peers", "run.mjs"), "--peer", peer, "--dir", dir, "--out", out], {
      encoding: "utf8",
      timeout: 300_000,
    });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const file = PeerReferenceFileSchema.parse(JSON.parse(readFileSync(out, "utf8")));
    expect(file.rows.map((x) => x.key)).toEqual([peer]);
    expect(file.rows[0].n).toBe(3);
    // Any working 68-point detector lands within 20 % of the inter-pupil distance on these faces.
    expect(file.rows[0].metrics["inter-pupil"].nme).toBeLessThan(20);
  };
}

describe("peers: the script on three common-test crops", { timeout: 300_000 }, () => {
  it("dlib (needs the dataset and the apt dlib packages)", async ({ skip }) => {
    await endToEnd("dlib", skip)();
  });
  it("face-api (needs the dataset and `npm ci --prefix scripts/peers/face-api`)", async ({ skip }) => {
    await endToEnd("face-api", skip)();
  });
});
