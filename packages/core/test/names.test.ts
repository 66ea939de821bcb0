// Issue 16.11, 16.3 and 16.6: what a spec may name and how large it may grow, refused with the field
// named before anything is stored.
import { describe, expect, it } from "vitest";
import { expandGrid, MAX_GRID_RUNS, nameProblem, parseGridSpec, UsageError } from "../src/index";

const REGIME = "parameters: { regime: [synthetic-only] }\n";

function refusal(text: string, fileName = "s.yaml"): string {
  try {
    expandGrid(parseGridSpec(text, fileName), fileName);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("the spec was accepted");
}

describe("names are printable text", () => {
  it.each([
    ["a NUL byte", '"a\\0b"', 'contains a control character (U+0000) at character 2; names must be printable text, got "a\\u0000b"'],
    [
      "an ANSI escape",
      '"x\\e[31mred"',
      'contains a control character (U+001B) at character 2; names must be printable text, got "x\\u001b[31mred"',
    ],
    ["a newline", '"x\\ny"', 'contains a control character (U+000A) at character 2; names must be printable text, got "x\\ny"'],
    ["a tab", '"x\\ty"', "contains a control character (U+0009) at character 2"],
    ["a right-to-left override", '"ab\\u202Ec"', "contains a bidirectional-text control (U+202E) at character 3"],
    ["a line separator", '"a\\u2028"', "contains a line or paragraph separator (U+2028) at character 2"],
    ["blanks only", '"   "', "must contain a visible character"],
  ])("refuses %s in a grid name", (_what, name, message) => {
    expect(refusal(`name: ${name}\nmethod: grid\n${REGIME}`)).toContain(`s.yaml: name: ${message}`);
  });

  it("refuses a lone surrogate (JSON spec), which PostgreSQL could not store", () => {
    const text = JSON.stringify({ name: "a\ud800b", method: "grid", parameters: { regime: ["synthetic-only"] } });
    expect(refusal(text)).toBe(
      's.yaml: name: contains a lone surrogate (U+D800) at character 2; names must be printable text, got "a\\ud800b"',
    );
  });

  it("accepts any printable script, emoji and inner spaces", () => {
    for (const name of ["ablation 2", "étude-α", "消融实验", "👩‍🔬 run", "a/b=c"]) expect(nameProblem(name)).toBeNull();
    const cells = expandGrid(parseGridSpec(`name: "étude 消融 👩‍🔬"\nmethod: grid\n${REGIME}`, "s.yaml"), "s.yaml");
    expect(cells[0].name).toBe("étude 消融 👩‍🔬/regime=synthetic-only");
  });
});

describe("values messages quote", () => {
  it("reports YAML's .nan as NaN (not JSON's null)", () => {
    const text = `name: n\nmethod: grid\nparameters: { regime: [synthetic-only], train.lr: [.nan, .inf] }\n`;
    expect(refusal(text)).toBe("s.yaml: parameters.train.lr[0]: expected number, got NaN");
    expect(refusal(`name: n\nmethod: grid\nparameters: { regime: [synthetic-only], train.lr: [-.inf] }\n`)).toBe(
      "s.yaml: parameters.train.lr[0]: expected number, got -Infinity",
    );
  });
});

describe("grid sizes", () => {
  it(`refuses a grid of more than ${MAX_GRID_RUNS} runs before expanding it (a 3 KB spec once expanded 300,000 cells)`, () => {
    const seeds = Array.from({ length: 600 }, (_, i) => i).join(",");
    const text = `name: n\nmethod: grid\nparameters: { regime: [synthetic-only, uda-discriminator], seed: [${seeds}], train.lr: [0.1, 0.2, 0.3, 0.4, 0.5] }\n`;
    const started = performance.now();
    expect(refusal(text)).toBe(
      "s.yaml: parameters: the grid expands to 6000 runs (2 × 600 × 5), more than the 1000 one grid may hold; split it into several grids",
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("stops expanding after its time budget", () => {
    const seeds = Array.from({ length: 500 }, (_, i) => i).join(",");
    const spec = parseGridSpec(
      `name: n\nmethod: grid\nparameters: { regime: [synthetic-only, uda-discriminator], seed: [${seeds}] }\n`,
      "s.yaml",
    );
    expect(() => expandGrid(spec, "s.yaml", { budgetMs: 0 })).toThrow(
      /^s\.yaml: expanding the grid took longer than 0 ms \(stopped at cell \d+ of 1000\)$/,
    );
    expect(expandGrid(spec, "s.yaml")).toHaveLength(1000);
  });

  it("bounds priority and maxAttempts by what their columns and sense allow", () => {
    expect(refusal(`name: n\nmethod: grid\npriority: 10000000000\n${REGIME}`)).toBe(
      "s.yaml: priority: must be ≤ 2147483647, got 10000000000",
    );
    expect(refusal(`name: n\nmethod: grid\nmaxAttempts: 1e12\n${REGIME}`)).toBe("s.yaml: maxAttempts: must be ≤ 100, got 1000000000000");
  });

  // Issue 16.6, verified: each of these was accepted at submit and could only fail later.
  it.each([
    [
      "inconsistent model sizes",
      "model: { inputSize: 64, heatmapSize: 24 }",
      /cell 0 \(regime=synthetic-only\): model\.heatmapSize: 24 must be model\.inputSize = 64 divided by a power of two/,
    ],
    [
      "syntheticTrain: 1e9",
      "data: { syntheticTrain: 1000000000 }",
      /data\.syntheticTrain: 1000000000 images of 64×64×1 .* more than the 4\.29 GB one rendered split may hold/,
    ],
    [
      "epochs: 1e9",
      "train: { epochs: 1000000000 }",
      /train\.epochs: 1000000000 epochs of 125 steps .* more than 2147483647 \(Run\.step is a 32-bit integer column\)/,
    ],
    ["a 300-W source without its folder", "data: { real: { source: 300w } }", /defaults\.data\.real\.dir: expected string, got nothing/],
  ])("refuses %s at submit", (_what, defaults, message) => {
    expect(refusal(`name: n\nmethod: grid\n${REGIME}defaults: { ${defaults} }\n`)).toMatch(message);
  });
});
