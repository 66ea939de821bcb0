/**
 * `lml predict`'s engine (predict.ts): a run trained on a 300w128-style dataset (crops cut by the
 * framing rule from the real fixture photos) predicts its common images with every protocol it serves,
 * and the written .pts files, scored as `lml eval` scores them, give exactly the NMEs the run stored.
 * Then the refusals: protocols a run cannot serve, --dense on a 68-point model, an unreadable image
 * (nothing written), unknown checkpoints and runs.
 */
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { RunConfigSchema, UsageError, evaluateShapes, formatPts, list300W, loadFace, readPts, type RunConfig } from "@lml/core";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import { putArtifact, submitGrid, writeEvaluations } from "@lml/db";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { folderCheckpointStore } from "../src/checkpoint";
import { loadPredictor, predictFolder, predictorFromPath, predictorFromRun, type PredictorSource } from "../src/predict";
import { train } from "../src/train";
import type { TrainResult } from "../src/hooks";

vi.setConfig({ testTimeout: 180_000 });
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68");
const saved = { LML_DATASETS: process.env.LML_DATASETS, LML_DATA_DIR: process.env.LML_DATA_DIR };
let root: string;
let config: RunConfig;
let result: TrainResult;
let source: PredictorSource;

/** A 128-px crop of a fixture photo cut by the framing rule, written as <stem>.png + .pts (as 300w128 is). */
async function writeCrop(photo: string, dir: string, stem: string, flip = false): Promise<void> {
  const [entry] = (await list300W(FIXTURES)).filter((e) => e.name === photo);
  const face = await loadFace(entry, { inputSize: 128, channels: 3 });
  let img = sharp(Buffer.from(face.image.map((v) => Math.round(v * 255))), { raw: { width: 128, height: 128, channels: 3 } });
  if (flip) img = img.flop(); // another face for training (the points' order is not used by a 68-point file check)
  await img.png().toFile(join(dir, `${stem}.png`));
  const pts = flip ? face.landmarks.map((v, k) => (k % 2 === 0 ? 128 - v : v)) : face.landmarks;
  await writeFile(join(dir, `${stem}.pts`), formatPts(pts.map((v) => v + 0.5)));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lml-predict-"));
  await mkdir(join(root, "crops", "train"), { recursive: true });
  await mkdir(join(root, "crops", "common"), { recursive: true });
  for (const p of ["einstein", "breakingbad"]) {
    await writeCrop(p, join(root, "crops", "train"), `${p}-a`);
    await writeCrop(p, join(root, "crops", "train"), `${p}-b`, true);
    await writeCrop(p, join(root, "crops", "common"), p);
  }
  process.env.LML_DATASETS = root;
  process.env.LML_DATA_DIR = join(root, "data");
  config = RunConfigSchema.parse({
    regime: "syn-real-label-adaptation",
    seed: 2,
    model: { inputSize: 32, stacks: 1, channels: 8, depth: 1, heatmapSize: 8 },
    data: { scheme: 243, syntheticTrain: 4, syntheticTest: 2, real: { source: "300w", dir: join(root, "crops") } },
    train: { epochs: 2, batchSize: 2 },
    eval: { mlpEpochs: 3, mlpHidden: 8, sampleImages: 0 },
  });
  const store = folderCheckpointStore(join(root, "run"));
  result = await train(config, { checkpoint: store });
  source = {
    where: "test run",
    config,
    checkpoint: (await store.load())!,
    testTimeMlp: result.artifacts.find((a) => a.name === "test-time-mlp.bin")!.bytes,
    evaluations: result.evaluations,
  };
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

/** What `lml eval` computes: the .pts folders paired by name, NME under the norm. */
async function scoreFolder(pred: string, gt: string, norm: "inter-pupil" | "inter-ocular"): Promise<number> {
  const names = (await readdir(gt)).filter((f) => f.endsWith(".pts")).sort();
  const P = await Promise.all(names.map((n) => readPts(join(pred, n))));
  const G = await Promise.all(names.map((n) => readPts(join(gt, n))));
  return evaluateShapes(P, G, { norm }).nme;
}

describe("predict", () => {
  it("writes .pts files that score exactly the NME the run stored, under every protocol it serves", async () => {
    const p = await loadPredictor(source);
    try {
      expect(p.protocols).toEqual(["nearest-subset", "test-time-mlp", "direct"]);
      expect(p.best).toBe("test-time-mlp");
      for (const protocol of p.protocols) {
        const out = join(root, `pred-${protocol}`);
        const r = await predictFolder(p, { images: join(root, "crops", "common"), out, protocol }, "test run");
        expect(r).toMatchObject({ protocol, images: 2 });
        for (const norm of ["inter-pupil", "inter-ocular"] as const) {
          const stored = result.evaluations.find((e) => e.testSet === "common" && e.protocol === protocol && e.norm === norm)!;
          expect(await scoreFolder(out, join(root, "crops", "common"), norm), `${protocol} ${norm}`).toBeCloseTo(stored.nme, 3);
        }
      }
      // the default is the best available protocol; --dense and --overlay add their files
      const out = join(root, "pred-default");
      const r = await predictFolder(p, { images: join(root, "crops", "common"), out, dense: true, overlay: true }, "test run");
      expect(r).toEqual({ protocol: "test-time-mlp", images: 2, densePoints: 243 });
      expect((await readdir(out)).sort()).toEqual([
        "breakingbad.dense.json",
        "breakingbad.overlay.png",
        "breakingbad.pts",
        "einstein.dense.json",
        "einstein.overlay.png",
        "einstein.pts",
      ]);
      expect((await sharp(join(out, "einstein.overlay.png")).metadata()).width).toBe(128);
    } finally {
      p.dispose();
    }
  });

  it("reads what lml train --out leaves: the folder or its checkpoint file", async () => {
    await writeFile(join(root, "run", "evaluations.json"), JSON.stringify({ config, evaluations: result.evaluations }));
    await writeFile(join(root, "run", "test-time-mlp.bin"), source.testTimeMlp!);
    const fromFolder = await predictorFromPath(join(root, "run"));
    expect(fromFolder.config).toEqual(config);
    expect(fromFolder.testTimeMlp).toBeDefined();
    const fromFile = await predictorFromPath(join(root, "run", "checkpoint.bin"));
    expect(fromFile.config).toEqual(config);
    await expect(predictorFromPath(join(root, "nowhere"))).rejects.toThrow(/--checkpoint .*nowhere: no such file or folder/);
    await expect(predictorFromPath(root)).rejects.toThrow(/no checkpoint\.bin in the folder/);
    await expect(predictorFromPath(join(root, "crops", "common", "einstein.pts"))).rejects.toThrow(/not a Landmark Lab checkpoint/);
  });

  it("refuses protocols the run cannot serve, --dense on a 68-point model, and unreadable images (writing nothing)", async () => {
    const noMlp = await loadPredictor({ ...source, testTimeMlp: undefined });
    try {
      expect(noMlp.protocols).toEqual(["nearest-subset", "direct"]);
      const call = (protocol: string) =>
        predictFolder(noMlp, { images: join(root, "crops", "common"), out: join(root, "x"), protocol }, "run r");
      await expect(call("test-time-mlp")).rejects.toThrow(/--protocol test-time-mlp: run r cannot serve it: it kept no test-time MLP/);
      await expect(call("dense")).rejects.toThrow(/--protocol: expected nearest-subset, test-time-mlp, direct, got "dense"/);
      await writeFile(join(root, "broken.png"), "not an image");
      const bad = join(root, "bad-images");
      await mkdir(bad, { recursive: true });
      await copyFile(join(root, "crops", "common", "einstein.png"), join(bad, "a.png"));
      await copyFile(join(root, "broken.png"), join(bad, "b.png"));
      const err = await predictFolder(noMlp, { images: bad, out: join(root, "bad-out") }, "run r").catch((e) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/bad-images\/b\.png: cannot decode image/);
      expect(existsSync(join(root, "bad-out"))).toBe(false);
      await expect(predictFolder(noMlp, { images: join(root, "none"), out: join(root, "y") }, "r")).rejects.toThrow(
        /--images .*none: not a folder/,
      );
    } finally {
      noMlp.dispose();
    }
    // a supervised-real model: 68 points only, direct served; no --dense
    const sup = RunConfigSchema.parse({ ...config, regime: "supervised-real", train: { ...config.train, epochs: 1 } });
    const store = folderCheckpointStore(join(root, "sup"));
    await train(sup, { checkpoint: store });
    const p68 = await loadPredictor({ where: "run s", config: sup, checkpoint: (await store.load())! });
    try {
      expect(p68.protocols).toEqual(["nearest-subset", "direct"]);
      await expect(
        predictFolder(p68, { images: join(root, "crops", "common"), out: join(root, "z"), dense: true }, "run s"),
      ).rejects.toThrow(/--dense: run s predicts the 68 points only \(supervised-real\)/);
    } finally {
      p68.dispose();
    }
  });
});

const pglite = testDatabases().find((t) => t.kind === "pglite")!;
describe("predict --run", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(pglite);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("finds a finished run by id or name, with its checkpoint and kept test-time MLP; refuses unknown and unfinished runs", async () => {
    await submitGrid(db.prisma, { name: "p" }, null, { cells: [{ name: "p/seed=2", config }] });
    const run = await db.prisma.run.findFirstOrThrow({ where: { name: "p/seed=2" } });
    await expect(predictorFromRun(db.prisma, "p/seed=2")).rejects.toThrow(
      /--run p\/seed=2: the run is QUEUED; only a finished \(SUCCEEDED\) run predicts/,
    );
    // stored as the worker stores a run's results: checkpoint "latest", the model artifact, the evaluations
    await putArtifact(db.prisma, { runId: run.id, kind: "checkpoint", name: "latest", bytes: source.checkpoint, step: result.steps });
    await putArtifact(db.prisma, { runId: run.id, kind: "model", name: "test-time-mlp.bin", bytes: source.testTimeMlp! });
    await writeEvaluations(db.prisma, run.id, result.evaluations);
    await db.prisma.run.update({ where: { id: run.id }, data: { status: "SUCCEEDED" } });
    for (const ref of [run.id, "p/seed=2"]) {
      const src = await predictorFromRun(db.prisma, ref);
      expect(src.config).toEqual(config);
      expect(Buffer.from(src.testTimeMlp!).equals(Buffer.from(source.testTimeMlp!))).toBe(true);
      expect(src.evaluations!.length).toBe(result.evaluations.length);
    }
    await expect(predictorFromRun(db.prisma, "no-such-run")).rejects.toThrow(/--run no-such-run: no run with that id or name/);
  });
});
