/**
 * Real data as the trainer opens it (data.ts over core's datasets.ts): a dataset folder's sub-folders
 * as splits, no challenging split → no challenging set (never another in its place), the validation
 * split carved from train by the fixed split seed and disjoint from it, and the data-path confinement
 * enforced where the worker trains (issue 16.1): a UsageError, which the worker fails at once.
 */
import { copyFile, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RunConfigSchema, UsageError, type RunConfigInput } from "@lml/core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { carveValidation, openReal, openValidation, type BatchSource } from "../src/data";
import { train } from "../src/train";

vi.setConfig({ testTimeout: 120_000 });
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68");
const saved = { LML_DATASETS: process.env.LML_DATASETS, LML_DATA_DIR: process.env.LML_DATA_DIR };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lml-real-data-"));
  // train/ holds both fixture photos twice (under two names each), common/ one photo.
  await mkdir(join(root, "faces", "train"), { recursive: true });
  await mkdir(join(root, "faces", "common"), { recursive: true });
  for (const n of ["einstein", "breakingbad"])
    for (const copy of ["a", "b"])
      for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `${n}.${ext}`), join(root, "faces", "train", `${n}-${copy}.${ext}`));
  for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `einstein.${ext}`), join(root, "faces", "common", `einstein.${ext}`));
  process.env.LML_DATASETS = root;
  process.env.LML_DATA_DIR = join(root, "data");
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

const config = (real: Record<string, unknown>, more: RunConfigInput = { regime: "supervised-real" }) =>
  RunConfigSchema.parse({
    ...more,
    model: { inputSize: 32, stacks: 1, channels: 8, depth: 1, heatmapSize: 8 },
    data: { scheme: 68, syntheticTrain: 4, syntheticTest: 2, realTrain: 100, real, validation: { fraction: 0.25, seed: 505 } },
    train: { epochs: 1, batchSize: 2 },
    eval: { mlpEpochs: 2, mlpHidden: 8, sampleImages: 0 },
  });

async function names(s: BatchSource): Promise<number> {
  let n = 0;
  for await (const b of s.batches(8, { shuffle: false, seed: 0 })) n += b.size;
  return n;
}

describe("real data", () => {
  it("carves validation faces from train by the split seed alone: disjoint, the same for every run", () => {
    const faces = Array.from({ length: 40 }, (_, i) => `f${i}`);
    const a = carveValidation(faces, 0.1, 505);
    expect(a.val).toHaveLength(4);
    expect(a.train).toHaveLength(36);
    expect(a.train.filter((f) => a.val.includes(f))).toEqual([]);
    expect(carveValidation(faces, 0.1, 505)).toEqual(a);
    expect(carveValidation(faces, 0.1, 506).val).not.toEqual(a.val);
    expect(carveValidation(faces, 0, 505)).toEqual({ train: faces, val: [] });
    expect(() => carveValidation(["x"], 0.5, 1)).toThrow(/leaves none to train on/);
  });

  it("opens a dataset's sub-folders as splits, holds out validation faces, and has no challenging split when there is none", async () => {
    const c = config({ source: "300w", dir: join(root, "faces") });
    const trainSet = await openReal(c, "train");
    const val = (await openValidation(c)).real!;
    expect([trainSet.name, await names(trainSet)]).toEqual(["300w-train", 3]);
    expect([val.name, await names(val)]).toEqual(["300w-real-val", 1]);
    expect(await names(await openReal(c, "common"))).toBe(1);
    expect(await openReal(c, "challenging")).toBeNull();
    await expect(openValidation(config({ source: "300w", dir: join(root, "faces") }, { regime: "supervised-real" }))).resolves.toBeTruthy();
    const clash = RunConfigSchema.parse({ ...c, data: { ...c.data, validation: { fraction: 0.1, seed: 101 } } });
    await expect(openValidation(clash)).rejects.toThrow(/data\.validation\.seed: 101 is the train split's seed/);
  });

  it("refuses, inside train() where the worker runs it, the reported leak: dir /etc, trainList /etc/passwd (16.1)", async () => {
    const leak = config({ source: "300w", dir: "/etc", trainList: "/etc/passwd" });
    const err = await train(leak).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError); // the worker fails a UsageError at once, without retrying
    expect((err as Error).message).toMatch(/^data\.real\.dir: \/etc is outside every dataset root/);
    expect((err as Error).message).not.toMatch(/root:|bash/);
    const listOnly = config({ source: "300w", dir: join(root, "faces"), trainList: "/etc/passwd" });
    await expect(train(listOnly)).rejects.toThrow(/^data\.real\.trainList: \/etc\/passwd is outside every dataset root/);
  });

  it("trains and evaluates on the dataset: common and real-val scored, challenging absent, the test-time MLP kept", async () => {
    const r = await train(config({ source: "300w", dir: join(root, "faces") }));
    const sets = [...new Set(r.evaluations.map((e) => e.testSet))];
    expect(sets.sort()).toEqual(["common", "real-val", "synthetic-test", "synthetic-val"]);
    expect(r.evaluations.find((e) => e.testSet === "real-val")!.count).toBe(1);
    expect(r.artifacts.map((a) => a.name)).toContain("test-time-mlp.bin");
  });
});
