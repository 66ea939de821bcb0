import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { RunConfigSchema } from "@lml/core";
import { StopRequested, type TrainHooks } from "../src/hooks";
import { train } from "../src/train";

// Renders a handful of tiny faces and trains a few steps end to end: slow-ish on two shared cores.
vi.setConfig({ testTimeout: 240_000 });
process.env.LML_DATA_DIR ??= mkdtempSync(join(tmpdir(), "lml-train-"));

const config = RunConfigSchema.parse({
  regime: "uda-discriminator",
  seed: 5,
  model: { inputSize: 32, stacks: 1, channels: 16, depth: 1, heatmapSize: 8 },
  data: { scheme: 68, syntheticTrain: 8, syntheticTest: 4, realTrain: 8, realCommon: 4, realChallenging: 4 },
  train: { epochs: 2, batchSize: 3 },
  eval: { mlpEpochs: 2, mlpHidden: 8 },
});

function memoryStore(): NonNullable<TrainHooks["checkpoint"]> & { saves: number[] } {
  let bytes: Uint8Array | null = null;
  const saves: number[] = [];
  return {
    saves,
    async load() {
      return bytes;
    },
    async save(b, step) {
      bytes = b.slice();
      saves.push(step);
    },
  };
}

describe("train() end to end", () => {
  it("stopped mid-epoch and resumed, continues with the identical losses and evaluations", async () => {
    const straight: number[] = [];
    const full = await train(config, { onProgress: (p) => void straight.push(p.loss), checkpoint: memoryStore() });
    expect(full.steps).toBe(4); // 8 images / batch 3 → 2 whole batches per epoch, 2 epochs
    expect(full.evaluations.map((r) => `${r.testSet}/${r.protocol}/${r.norm}`)).toContain("synthetic-test/dense/inter-ocular");

    const store = memoryStore();
    const first: number[] = [];
    await expect(
      train(config, { onProgress: (p) => void first.push(p.loss), checkpoint: store, shouldStop: () => first.length === 3 }),
    ).rejects.toBeInstanceOf(StopRequested);
    expect(store.saves).toEqual([2, 3]); // end of epoch 1, then the stop in the middle of epoch 2
    const rest: number[] = [];
    const resumed = await train(config, { onProgress: (p) => void rest.push(p.loss), checkpoint: store });
    expect([...first, ...rest]).toEqual(straight);
    expect(resumed.evaluations.map((r) => r.nme)).toEqual(full.evaluations.map((r) => r.nme));
    // The sample strips: one per test set, the same bytes for the same model.
    expect(full.artifacts.map((a) => [a.kind, a.name, a.mime])).toEqual([
      ["samples", "samples-synthetic-test-dense.png", "image/png"],
      ["samples", "samples-common-test-time-mlp.png", "image/png"],
      ["samples", "samples-challenging-test-time-mlp.png", "image/png"],
      ["model", "test-time-mlp.bin", "application/octet-stream"],
    ]);
    // The validation sets are evaluated like the test sets (no strips): synthetic 10 % of 8 → 1 image, proxy-real likewise.
    expect(full.evaluations.filter((r) => r.norm === "inter-pupil").map((r) => `${r.testSet}/${r.protocol}`)).toEqual(
      expect.arrayContaining(["synthetic-val/dense", "real-val/nearest-subset", "real-val/test-time-mlp"]),
    );
    expect(full.evaluations.find((r) => r.testSet === "real-val")!.count).toBe(1);
    expect(resumed.artifacts.map((a) => Buffer.from(a.bytes).toString("base64"))).toEqual(
      full.artifacts.map((a) => Buffer.from(a.bytes).toString("base64")),
    );
  });
});
