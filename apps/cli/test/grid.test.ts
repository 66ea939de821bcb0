// Grid specs as `lml grid submit` sees them: the documented errors for bad specs, the bundled specs,
// and the grid commands end to end against PostgreSQL.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expandGrid, parseGridSpec, REGIMES, UsageError } from "@lml/core";
import { openTestDatabase, testDatabases, type TestDatabase } from "@lml/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const CLI = join(here, "..", "src", "cli.ts");

/** What `lml grid submit` does before it touches the database. */
function check(text: string): void {
  expandGrid(parseGridSpec(text, "bad.yaml"), "bad.yaml");
}

const HEAD = "name: x\nmethod: grid\n";
const OK_PARAMS = "parameters: { regime: [synthetic-only] }\n";

// [what is wrong, spec text, the message lml prints (after "lml: ")]
const BAD_SPECS: Array<[string, string, string | RegExp]> = [
  ["not YAML", `${HEAD}parameters: [a, b\n`, /^bad\.yaml:4:1: not valid YAML\/JSON: /],
  ["a duplicate key", `name: x\n${HEAD}${OK_PARAMS}`, "bad.yaml:2:1: not valid YAML/JSON: Map keys must be unique"],
  ["a list at the top", "- a\n- b\n", 'bad.yaml: expected a mapping at the top level, got ["a","b"]'],
  ["no name", `method: grid\n${OK_PARAMS}`, "bad.yaml: name: expected string, got nothing"],
  ["another method", `name: x\nmethod: random\n${OK_PARAMS}`, 'bad.yaml: method: expected "grid", got "random"'],
  ["an unknown top-level field", `${HEAD}${OK_PARAMS}sweep: 1\n`, "bad.yaml: sweep: unknown field"],
  [
    "no regime anywhere",
    `${HEAD}parameters: { seed: [1, 2] }\n`,
    "bad.yaml: parameters.regime: no regime given (add it to parameters or defaults)",
  ],
  [
    "an unknown regime",
    `${HEAD}parameters: { regime: [synthetic-only, pix2pix] }\n`,
    'bad.yaml: parameters.regime[1]: expected "synthetic-only" or "syn-real-label-adaptation" or "uda-discriminator" or "supervised-real", got "pix2pix"',
  ],
  [
    "an unknown parameter path",
    `${HEAD}parameters: { regime: [synthetic-only], train.lrr: [0.1] }\n`,
    'bad.yaml: parameters.train.lrr: unknown RunConfig field "train.lrr"',
  ],
  [
    "a value of the wrong type",
    `${HEAD}parameters: { regime: [synthetic-only], train.lr: { values: [0.001, fast] } }\n`,
    'bad.yaml: parameters.train.lr.values[1]: expected number, got "fast"',
  ],
  [
    "a value out of range",
    `${HEAD}parameters: { regime: [synthetic-only], train.lr: [-1] }\n`,
    "bad.yaml: parameters.train.lr[0]: must be > 0, got -1",
  ],
  [
    "a scheme below 68 points",
    `${HEAD}parameters: { regime: [synthetic-only], data.scheme: [490, 20] }\n`,
    "bad.yaml: parameters.data.scheme[1]: must be ≥ 68, got 20",
  ],
  [
    "a value not in the allowed set",
    `${HEAD}parameters: { regime: [synthetic-only], model.inputChannels: [2] }\n`,
    "bad.yaml: parameters.model.inputChannels[0]: expected 1 or 3, got 2",
  ],
  ["an empty list", `${HEAD}parameters: { regime: [synthetic-only], seed: [] }\n`, "bad.yaml: parameters.seed: list at least one value"],
  [
    "a repeated value",
    `${HEAD}parameters: { regime: [synthetic-only], seed: [1, 1] }\n`,
    "bad.yaml: parameters.seed[1]: duplicate of parameters.seed[0] (1)",
  ],
  [
    "overlapping parameters",
    `${HEAD}parameters: { regime: [synthetic-only], train: [{ epochs: 2 }], train.lr: [0.1] }\n`,
    "bad.yaml: parameters.train.lr: overlaps parameters.train",
  ],
  ["a bad default", `${HEAD}${OK_PARAMS}defaults: { model: { stacks: 0 } }\n`, "bad.yaml: defaults.model.stacks: must be ≥ 1, got 0"],
  [
    "an unknown default",
    `${HEAD}${OK_PARAMS}defaults: { train: { epoch: 3 } }\n`,
    'bad.yaml: defaults.train.epoch: unknown RunConfig field "train.epoch"',
  ],
  [
    "an unknown real-data source",
    `${HEAD}${OK_PARAMS}defaults: { data: { real: { source: aflw } } }\n`,
    'bad.yaml: defaults.data.real.source: expected "proxy-real" or "300w", got "aflw"',
  ],
];

describe("grid specs", () => {
  it.each(BAD_SPECS)("rejects %s", (_what, text, message) => {
    let error: unknown;
    try {
      check(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    if (typeof message === "string") expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  });

  it("bundles a seed study: four regimes x three seeds on the 490-point scheme, seed 1 of each first", () => {
    const file = join(root, "grids", "seed-study.yaml");
    const cells = expandGrid(parseGridSpec(readFileSync(file, "utf8"), "seed-study.yaml"));
    expect(cells).toHaveLength(12);
    expect(new Set(cells.map((c) => c.regime))).toEqual(new Set(REGIMES));
    expect(new Set(cells.map((c) => c.seed))).toEqual(new Set([1, 2, 3]));
    expect(cells.every((c) => c.config.data.scheme === 490 && c.config.seed === c.seed)).toBe(true);
    expect(cells.slice(0, 4).map((c) => [c.seed, c.regime])).toEqual(REGIMES.map((r) => [1, r]));
    expect(new Set(cells.map((c) => c.name)).size).toBe(12);
  });

  it("bundles a smoke grid of two tiny runs", () => {
    const cells = expandGrid(parseGridSpec(readFileSync(join(root, "grids", "smoke.yaml"), "utf8"), "smoke.yaml"));
    expect(cells.map((c) => c.seed)).toEqual([1, 2]);
    expect(cells[0].config.train.epochs).toBe(1);
  });
});

function lml(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: root,
      env: { ...process.env, LML_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const postgres = testDatabases().find((t) => t.kind === "postgres")!;
const describePg = postgres.skip ? describe.skip : describe;
if (postgres.skip) console.warn(`[grid.test] ${postgres.skip}`);

describePg(`lml grid [postgres${postgres.skip ? `: ${postgres.skip}` : ""}]`, () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await openTestDatabase(postgres);
    dir = mkdtempSync(join(tmpdir(), "lml-grid-"));
  }, 60_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.close();
  });

  it("submit prints the id and run count, refuses a duplicate without --force; status and cancel", async () => {
    // Each `lml` start costs seconds on a busy 2-core machine: few spawns, the independent ones at once.
    // (--force, --json and unknown names are covered at the queue level in packages/db/test/queue.test.ts.)
    const env = { DATABASE_URL: db.rawUrl };
    const smoke = join(root, "grids", "smoke.yaml");
    const first = await lml(["grid", "submit", smoke], env);
    expect(first.code, first.stderr).toBe(0);
    const id = first.stdout.match(/^grid ([0-9a-f-]{36}) "smoke": 2 runs queued\n$/)?.[1];
    expect(id, first.stdout).toBeDefined();
    const submittedAt = (await db.prisma.grid.findUniqueOrThrow({ where: { id } })).createdAt.toISOString();

    const [again, status] = await Promise.all([lml(["grid", "submit", smoke], env), lml(["grid", "status", "smoke"], env)]);
    expect([again.code, again.stderr]).toEqual([
      2,
      `lml: a grid named "smoke" already exists (id ${id}, 2 runs, submitted ${submittedAt}); resubmit with --force to queue another copy\n`,
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^grid ${id} "smoke" \\(submitted ${submittedAt}\\): 2 runs — 2 queued\n`));
    expect(status.stdout).toMatch(/\nsmoke\/regime=synthetic-only,seed=1 +QUEUED +0% +0 +0\/3\n/);

    const cancel = await lml(["grid", "cancel", id!], env);
    expect(cancel.stdout).toBe(`grid ${id}: canceled 2 queued runs; asked 0 running runs to stop at the next step\n`);
    expect(await db.prisma.run.count({ where: { gridId: id, status: "CANCELED" } })).toBe(2);

    const requeue = await lml(["grid", "requeue", id!], env);
    expect(requeue.stdout).toBe(`grid ${id}: requeued 2 failed or canceled runs\n`);
    expect(await db.prisma.run.count({ where: { gridId: id, status: "QUEUED" } })).toBe(2);
    // Out of the queue again: the next test's worker must find only its own grid's runs.
    await db.prisma.run.updateMany({ where: { gridId: id }, data: { status: "CANCELED" } });
  }, 60_000);

  it("lml work --idle-exit trains the smoke grid with the real trainer and records its results", async () => {
    const env = { DATABASE_URL: db.rawUrl };
    const submitted = await lml(["grid", "submit", join(root, "grids", "smoke.yaml"), "--force", "--json"], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const work = await lml(["work", "--idle-exit"], { ...env, LML_LOG_LEVEL: "info" });
    expect(work.code, work.stderr).toBe(0);
    expect(work.stdout).toMatch(/^worker \S+: 2 run\(s\) \(2 succeeded\)\n$/);
    const runs = await db.prisma.run.findMany({
      where: { gridId: id },
      include: { _count: { select: { evaluations: true, metrics: true } }, artifacts: { select: { kind: true, size: true } } },
    });
    for (const run of runs) {
      expect(run).toMatchObject({ status: "SUCCEEDED", attempts: 1, progress: 1 });
      expect(run.backend).toBeTruthy();
      expect(run._count.evaluations).toBeGreaterThan(0);
      expect(run._count.metrics).toBeGreaterThan(0);
      expect(run.artifacts.find((a) => a.kind === "checkpoint")?.size).toBeGreaterThan(0);
    }
  }, 90_000);

  it("a bad spec is reported before the database is touched (exit 2, file and field named)", async () => {
    const bad = join(dir, "typo.yaml");
    writeFileSync(bad, "name: typo\nmethod: grid\nparameters:\n  regime: [synthetic-only]\n  train.lr: [0.001, fast]\n");
    const r = await lml(["grid", "submit", bad], { DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" });
    expect([r.code, r.stderr]).toEqual([2, 'lml: typo.yaml: parameters.train.lr[1]: expected number, got "fast"\n']);
  }, 30_000);
});
