import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { REGIMES, RunConfigSchema, UsageError, expandGrid, parseGridSpec, validateGridSpec } from "../src";

const seedStudy = `
name: seed-study
description: four regimes × three seeds
method: grid
parameters:
  regime: { values: [synthetic-only, syn-real-label-adaptation, uda-discriminator, supervised-real] }
  seed: [1, 2, 3]
  train.lr: { values: [0.001] }
defaults:
  model: { inputSize: 64, stacks: 1 }
  train: { epochs: 5, augment: { flip: 0 } }
priority: 2
`;

describe("grid specs", () => {
  it("expands the cartesian product over the defaults, last parameter fastest", () => {
    const spec = parseGridSpec(seedStudy, "seed-study.yaml");
    expect(spec.priority).toBe(2);
    const cells = expandGrid(spec);
    expect(cells).toHaveLength(12);
    expect(cells.slice(0, 4).map((c) => [c.regime, c.seed])).toEqual([
      ["synthetic-only", 1],
      ["synthetic-only", 2],
      ["synthetic-only", 3],
      ["syn-real-label-adaptation", 1],
    ]);
    expect(cells[0].name).toBe("seed-study/regime=synthetic-only,seed=1"); // single-valued lr left out
    expect(new Set(cells.map((c) => c.name)).size).toBe(12);
    const c = cells[5].config;
    // Defaults and parameters merged, everything else filled in by RunConfigSchema.
    expect(c.model).toMatchObject({ inputSize: 64, stacks: 1, channels: 64 });
    expect(c.train).toMatchObject({ epochs: 5, lr: 0.001, batchSize: 16 });
    expect(c.train.augment).toEqual({ flip: 0, rotation: 15, scale: 0.1, translate: 0.05 });
    expect(RunConfigSchema.parse(c)).toEqual(c);
    // Cells do not share objects (a worker mutating one must not change another).
    expect(cells[0].config.model).not.toBe(cells[1].config.model);
  });

  it("accepts JSON, bare value lists, single values and whole objects", () => {
    const spec = parseGridSpec(
      JSON.stringify({
        name: "j",
        method: "grid",
        parameters: { "data.scheme": [243, 490], "data.real": { value: { source: "300w", dir: "/data/300w" } } },
        defaults: { regime: "supervised-real" },
      }),
      "j.json",
    );
    const cells = expandGrid(spec);
    expect(cells.map((c) => c.config.data.scheme)).toEqual([243, 490]);
    expect(cells[1].config.data.real).toEqual({ source: "300w", dir: "/data/300w" });
    expect(cells[1].name).toBe("j/data.scheme=490");
  });

  const head = "name: g\nmethod: grid\n";
  const withRegime = "defaults: { regime: synthetic-only }\n";
  it.each<[string, string, string | RegExp]>([
    [
      "a string where a number goes",
      head + "parameters:\n  train.lr: { values: [0.1, 0.01, fast] }\n" + withRegime,
      'g.yaml: parameters.train.lr.values[2]: expected number, got "fast"',
    ],
    ["a float seed", head + "parameters:\n  seed: [1, 2.5]\n" + withRegime, "g.yaml: parameters.seed[1]: expected int, got 2.5"],
    [
      "a value out of range",
      head + "parameters:\n  model.inputSize: { values: [64, 1024] }\n" + withRegime,
      "g.yaml: parameters.model.inputSize.values[1]: must be ≤ 512, got 1024",
    ],
    [
      "a bad literal",
      head + "parameters:\n  model.inputChannels: [1, 2]\n" + withRegime,
      "g.yaml: parameters.model.inputChannels[1]: expected 1 or 3, got 2",
    ],
    [
      "an unknown regime",
      head + "parameters:\n  regime: [synthetic-only, magic]\n",
      'g.yaml: parameters.regime[1]: expected "synthetic-only" or "syn-real-label-adaptation" or "uda-discriminator" or "supervised-real", got "magic"',
    ],
    [
      "an unknown parameter path",
      head + "parameters:\n  train.learningRate: [0.1]\n" + withRegime,
      'g.yaml: parameters.train.learningRate: unknown RunConfig field "train.learningRate"',
    ],
    [
      "a path through a leaf",
      head + "parameters:\n  train.lr.x: [0.1]\n" + withRegime,
      'g.yaml: parameters.train.lr.x: unknown RunConfig field "train.lr.x"',
    ],
    [
      "an unknown real-data source",
      head + "parameters:\n  data.real: [{ source: kaggle }]\n" + withRegime,
      'g.yaml: parameters.data.real[0].source: expected "proxy-real" or "300w", got "kaggle"',
    ],
    [
      "a 300w source without dir",
      head + "parameters:\n  data.real: [{ source: 300w }]\n" + withRegime,
      "g.yaml: parameters.data.real[0].dir: expected string, got nothing",
    ],
    [
      "an empty value list",
      head + "parameters:\n  seed: { values: [] }\n" + withRegime,
      "g.yaml: parameters.seed.values: list at least one value",
    ],
    [
      "a duplicate value",
      head + "parameters:\n  seed: [1, 2, 1]\n" + withRegime,
      "g.yaml: parameters.seed[2]: duplicate of parameters.seed[0] (1)",
    ],
    [
      "overlapping paths",
      head + "parameters:\n  train: [{}]\n  train.lr: [0.1]\n" + withRegime,
      "g.yaml: parameters.train.lr: overlaps parameters.train",
    ],
    [
      "no regime anywhere",
      head + "parameters:\n  seed: [1]\n",
      "g.yaml: parameters.regime: no regime given (add it to parameters or defaults)",
    ],
    [
      "a bad default",
      head + "parameters:\n  seed: [1]\ndefaults: { regime: synthetic-only, train: { lr: -1 } }\n",
      "g.yaml: defaults.train.lr: must be > 0, got -1",
    ],
    [
      "an unknown default",
      head + "parameters:\n  seed: [1]\ndefaults: { regime: synthetic-only, train: { epoch: 3 } }\n",
      'g.yaml: defaults.train.epoch: unknown RunConfig field "train.epoch"',
    ],
    [
      "another method",
      "name: g\nmethod: random\nparameters: { seed: [1] }\n" + withRegime,
      'g.yaml: method: expected "grid", got "random"',
    ],
    ["no name", "method: grid\nparameters: { seed: [1] }\n" + withRegime, "g.yaml: name: expected string, got nothing"],
    ["an unknown top-level field", head + "parameters: { seed: [1] }\nworkers: 3\n" + withRegime, "g.yaml: workers: unknown field"],
    [
      "a malformed parameter",
      head + "parameters:\n  seed: { vals: [1] }\n" + withRegime,
      'g.yaml: parameters.seed: expected a list of values, { values: [...] } or { value: ... }, got {"vals":[1]}',
    ],
    [
      "an inconsistent model in a cell",
      head + "parameters:\n  model.depth: [2, 4]\ndefaults: { regime: synthetic-only, model: { heatmapSize: 8 } }\n",
      "g.yaml: cell 1 (model.depth=4): model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)",
    ],
    [
      "an inconsistent model in the defaults",
      head + "parameters:\n  seed: [1]\ndefaults: { regime: synthetic-only, model: { heatmapSize: 8, depth: 4 } }\n",
      "g.yaml: cell 0 (seed=1): model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)",
    ],
    ["a top-level list", "- 1\n- 2\n", "g.yaml: expected a mapping at the top level, got [1,2]"],
    ["broken YAML", "name: g\nparameters: { seed: [1, 2\n", /^g\.yaml:\d+:\d+: not valid YAML\/JSON: \S/],
    [
      "a duplicate key",
      head + "parameters: { seed: [1] }\nname: h\n" + withRegime,
      /^g\.yaml:4:1: not valid YAML\/JSON: Map keys must be unique$/,
    ],
  ])("rejects %s, naming the field and value", (_, text, message) => {
    const call = () => expandGrid(parseGridSpec(text, "g.yaml"), "g.yaml");
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
  });

  it("expands the repository's seed study to its 12 runs, the model rules included", () => {
    const file = join(dirname(fileURLToPath(import.meta.url)), "../../../grids/seed-study.yaml");
    const cells = expandGrid(parseGridSpec(readFileSync(file, "utf8"), "seed-study.yaml"), "seed-study.yaml");
    expect(cells.map((c) => c.name)).toEqual(
      [1, 2, 3].flatMap((seed) => REGIMES.map((regime) => `seed-study/seed=${seed},regime=${regime}`)),
    );
    expect(cells.every((c) => c.config.regime === c.regime && c.config.seed === c.seed)).toBe(true);
    // eval.mlpHidden: 64, as trained before the knob
    expect(cells[1].config.train).toMatchObject({ transferHidden: 64, labelTransfer: "mlp" });
  });

  it("validates already-parsed objects (the dashboard's path) the same way", () => {
    expect(() =>
      validateGridSpec({ name: "x", method: "grid", parameters: { "train.lr": ["fast"] }, defaults: { regime: "synthetic-only" } }, "form"),
    ).toThrow('form: parameters.train.lr[0]: expected number, got "fast"');
  });
});
