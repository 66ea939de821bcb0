import { describe, expect, it } from "vitest";
import {
  DB_INT_MAX,
  RunConfigSchema,
  UsageError,
  assertModelConfig,
  modelConfigProblems,
  parseRunConfig,
  plannedSteps,
  type RunConfigInput,
} from "../src";

/** The first issue of a config RunConfigSchema rejects, as "<path>: <message>". */
function rejection(input: RunConfigInput): string {
  const r = RunConfigSchema.safeParse(input);
  if (r.success) return "accepted";
  const i = r.error.issues[0];
  return `${i.path.join(".")}: ${i.message}`;
}

describe("RunConfig cross-field model rules", () => {
  it("accepts the defaults and the seed study's model", () => {
    expect(rejection({ regime: "synthetic-only" })).toBe("accepted");
    expect(rejection({ regime: "synthetic-only", model: { inputSize: 64, stacks: 2, channels: 64, depth: 2, heatmapSize: 8 } })).toBe(
      "accepted",
    );
    expect(rejection({ regime: "synthetic-only", model: { inputSize: 96, heatmapSize: 24, depth: 3 } })).toBe("accepted");
  });

  it("rejects a heatmap the hourglass cannot pool depth times, naming both fields", () => {
    expect(rejection({ regime: "synthetic-only", model: { heatmapSize: 8, depth: 4 } })).toBe(
      "model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)",
    );
  });

  it("rejects a heatmap the stem cannot reach by halving the input", () => {
    expect(rejection({ regime: "synthetic-only", model: { inputSize: 96, heatmapSize: 16 } })).toBe(
      "model.heatmapSize: 16 must be model.inputSize = 96 divided by a power of two (1, 2, 4, …), since the stem halves the input down to the heatmap (model.inputSize / model.heatmapSize = 6)",
    );
    expect(rejection({ regime: "synthetic-only", model: { inputSize: 32, heatmapSize: 64, depth: 1 } })).toMatch(
      /^model\.heatmapSize: 64 must be model\.inputSize = 32 divided/,
    );
  });

  it("rejects an odd channel count (the bottleneck halves it)", () => {
    expect(rejection({ regime: "synthetic-only", model: { channels: 63 } })).toBe(
      "model.channels: 63 must be even (the residual blocks' bottleneck has model.channels / 2 channels)",
    );
  });

  it("gives the model a UsageError naming every broken rule", () => {
    const call = () => assertModelConfig({ inputSize: 64, heatmapSize: 8, depth: 4, channels: 9 }, "HourglassConfig");
    expect(call).toThrow(UsageError);
    expect(call).toThrow(
      "HourglassConfig: model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4); model.channels: 9 must be even",
    );
    expect(modelConfigProblems({ inputSize: 64, heatmapSize: 16, depth: 2, channels: 64 })).toEqual([]);
  });
});

describe("RunConfig bounds", () => {
  it("keeps the step count inside Run.step's integer column", () => {
    const ok: RunConfigInput = {
      regime: "synthetic-only",
      data: { syntheticTrain: 1600 },
      train: { batchSize: 16, epochs: Math.floor(DB_INT_MAX / 100) },
    };
    expect(rejection(ok)).toBe("accepted");
    expect(plannedSteps(RunConfigSchema.parse(ok))).toBeLessThanOrEqual(DB_INT_MAX);
    expect(rejection({ ...ok, train: { batchSize: 16, epochs: Math.floor(DB_INT_MAX / 100) + 1 } })).toBe(
      `train.epochs: 21474837 epochs of 100 steps (data.syntheticTrain / train.batchSize) make 2147483700 steps, more than ${DB_INT_MAX} (Run.step is a 32-bit integer column)`,
    );
    // supervised-real's epochs run over the real training split.
    expect(
      rejection({ regime: "supervised-real", data: { realTrain: 3200, syntheticTrain: 1 }, train: { batchSize: 16, epochs: 20_000_000 } }),
    ).toMatch(/^train\.epochs: .*\(data\.realTrain \/ train\.batchSize\) make 4000000000 steps/);
  });

  it("keeps every rendered split inside one buffer", () => {
    expect(rejection({ regime: "synthetic-only", model: { inputSize: 512, heatmapSize: 128 }, data: { syntheticTest: 10_000 } })).toBe(
      "data.syntheticTest: 10000 images of 512×512×1 (model.inputSize, model.inputChannels) take 10.5 GB, more than the 4.29 GB one rendered split may hold",
    );
    // A 300-W folder is read face by face, so realTrain only limits how many are taken.
    const real = { source: "300w" as const, dir: "/data/300w" };
    expect(
      rejection({
        regime: "supervised-real",
        model: { inputSize: 512, heatmapSize: 128 },
        data: { realTrain: 10_000, syntheticTrain: 10, syntheticTest: 10, real },
      }),
    ).toBe("accepted");
  });

  it("requires a 300-W folder that names something, and counts that fit an integer column", () => {
    expect(rejection({ regime: "supervised-real", data: { real: { source: "300w", dir: " " } } })).toBe(
      "data.real.dir: must name a file or folder",
    );
    expect(rejection({ regime: "supervised-real", data: { real: { source: "300w", dir: "" } } })).toBe(
      "data.real.dir: must name a file or folder",
    );
    expect(rejection({ regime: "synthetic-only", data: { syntheticTest: DB_INT_MAX + 1 } })).toMatch(/^data\.syntheticTest: Too big/);
    expect(rejection({ regime: "synthetic-only", seed: DB_INT_MAX + 1 })).toMatch(/^seed: Too big/);
  });
});

describe("RunConfig knobs", () => {
  it("defaults to the values the trainer hard-coded before they were knobs", () => {
    const c = RunConfigSchema.parse({ regime: "syn-real-label-adaptation" });
    expect(c.train).toMatchObject({ unetChannels: 32, dalnBlock: 64, adamBeta1: 0.9, adamBeta2: 0.999, transferHidden: 256 });
    expect(c.eval).toMatchObject({ batchSize: 32, sampleImages: 8 });
  });

  it("takes the label-transfer width from eval.mlpHidden unless given (configs from before the knob)", () => {
    expect(RunConfigSchema.parse({ regime: "syn-real-label-adaptation", eval: { mlpHidden: 64 } }).train.transferHidden).toBe(64);
    expect(
      RunConfigSchema.parse({ regime: "syn-real-label-adaptation", eval: { mlpHidden: 64 }, train: { transferHidden: 128 } }).train
        .transferHidden,
    ).toBe(128);
    const c = RunConfigSchema.parse({ regime: "syn-real-label-adaptation", eval: { mlpHidden: 64 } });
    expect(RunConfigSchema.parse(c)).toEqual(c); // parsing a parsed config changes nothing
  });
});

describe("parseRunConfig", () => {
  it("fills the defaults, and names the file, field and value of bad input in a UsageError", () => {
    expect(parseRunConfig({ regime: "supervised-real", seed: 4 }, "run.yaml")).toMatchObject({
      regime: "supervised-real",
      seed: 4,
      model: { depth: 2 },
    });
    const bad = () => parseRunConfig({ regime: "supervised-real", train: { lr: "fast" } }, "run.yaml");
    expect(bad).toThrow(UsageError);
    expect(bad).toThrow('run.yaml: train.lr: expected number, got "fast"');
    expect(() => parseRunConfig({ regime: "synthetic-only", model: { heatmapSize: 8, depth: 4 } }, "run.yaml")).toThrow(
      "run.yaml: model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)",
    );
  });
});

describe("data.validation", () => {
  it("defaults to a tenth of the train data under the fixed split seed 505, and bounds the fraction", () => {
    expect(RunConfigSchema.parse({ regime: "synthetic-only" }).data.validation).toEqual({ fraction: 0.1, seed: 505 });
    expect(rejection({ regime: "synthetic-only", data: { validation: { fraction: 0 } } })).toBe("accepted");
    expect(rejection({ regime: "synthetic-only", data: { validation: { fraction: 0.6 } } })).toMatch(/^data\.validation\.fraction: /);
    expect(rejection({ regime: "synthetic-only", data: { validation: { size: 3 } } } as unknown as RunConfigInput)).toMatch(
      /^data\.validation/,
    );
  });
});
