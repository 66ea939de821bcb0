// Issue 16.9: a cancel (or a signal) during the final evaluation is honoured: train() stops with
// StopRequested after the checkpoint of its last step instead of finishing the evaluation, so the
// worker marks the run CANCELED (or hands it back), never SUCCEEDED with cancelRequested.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { RunConfigSchema } from "@lml/core";
import { StopRequested } from "../src/hooks";
import { train } from "../src/train";

vi.setConfig({ testTimeout: 240_000 });
process.env.LML_DATA_DIR ??= mkdtempSync(join(tmpdir(), "lml-train-"));

const config = RunConfigSchema.parse({
  regime: "synthetic-only",
  seed: 7,
  model: { inputSize: 32, stacks: 1, channels: 16, depth: 1, heatmapSize: 8 },
  data: { scheme: 68, syntheticTrain: 6, syntheticTest: 4, realTrain: 6, realCommon: 4, realChallenging: 4 },
  train: { epochs: 1, batchSize: 3 },
  eval: { mlpEpochs: 2, mlpHidden: 8, batchSize: 2 },
});

describe("train() and a stop during the final evaluation", () => {
  it("stops the evaluation at its next batch with StopRequested at the last step, after the last checkpoint", async () => {
    const saves: number[] = [];
    let polls = 0;
    let stepsSeen = 0;
    const outcome = train(config, {
      onProgress: (p) => void (stepsSeen = p.step),
      checkpoint: { load: async () => null, save: async (_bytes, step) => void saves.push(step) },
      // The loop polls once per step (2 steps); every later poll comes from the evaluation.
      shouldStop: () => ++polls > 2,
    });
    const err = await outcome.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StopRequested);
    expect((err as StopRequested).step).toBe(2);
    expect(stepsSeen).toBe(2);
    expect(saves).toEqual([2]); // the end-of-epoch checkpoint: a resumed run only evaluates
    expect(polls).toBe(3); // stopped at the evaluation's first batch, not after the whole evaluation
  });
});
