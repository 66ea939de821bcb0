/**
 * Datasets (core datasets.ts): roots from the environment and the registry, confinement of every data
 * path a spec names (issue 16.1), split folders and list files, discovery and registration.
 */
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  UsageError,
  checkDataPaths,
  confineDataPath,
  datasetRoots,
  datasetSplits,
  expandGrid,
  listDatasets,
  openRealSplit,
  parseGridSpec,
  parseRunConfig,
  readRegistrations,
  registerDataset,
  repoRoot,
  unregisterDataset,
  type DataRoot,
} from "../src";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68");
let base: string;
let roots: DataRoot[];
let env: NodeJS.ProcessEnv;

/** A dataset folder with the two fixture photos: train/ both, common/ one; and a list-file dataset. */
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "lml-datasets-"));
  const ds = join(base, "roots", "faces");
  for (const [split, names] of [
    ["train", ["einstein", "breakingbad"]],
    ["common", ["einstein"]],
  ] as const) {
    await mkdir(join(ds, split), { recursive: true });
    for (const n of names) for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `${n}.${ext}`), join(ds, split, `${n}.${ext}`));
  }
  await writeFile(join(ds, "SOURCE.md"), "# faces\nResearch use only.\n");
  const listed = join(base, "roots", "listed");
  await mkdir(join(listed, "all"), { recursive: true });
  for (const n of ["einstein", "breakingbad"])
    for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `${n}.${ext}`), join(listed, "all", `${n}.${ext}`));
  await writeFile(join(listed, "train.txt"), "all/einstein\n");
  await writeFile(join(listed, "common.txt"), "all/breakingbad.jpg\n");
  await mkdir(join(base, "roots", "not-a-dataset"), { recursive: true });
  env = { LML_DATASETS: join(base, "roots"), LML_DATA_DIR: join(base, "data") };
  roots = datasetRoots(env);
});

describe("dataset roots", () => {
  it("come from LML_DATASETS (':'-separated; empty = none), the data dir's datasets/ and the registry", () => {
    expect(roots).toEqual([
      { path: join(base, "roots"), origin: "LML_DATASETS" },
      { path: join(base, "data", "datasets"), origin: "data-dir" },
    ]);
    expect(datasetRoots({ ...env, LML_DATASETS: `${base}/a:${base}/b` }).map((r) => r.path)).toEqual([
      `${base}/a`,
      `${base}/b`,
      join(base, "data", "datasets"),
    ]);
    expect(datasetRoots({ ...env, LML_DATASETS: "" }).map((r) => r.origin)).toEqual(["data-dir"]);
    // relative paths are relative to the repository root, whatever the current folder
    expect(datasetRoots({ ...env, LML_DATASETS: "some/where" })[0].path).toBe(join(repoRoot(), "some", "where"));
  });

  it("default to ../shared/datasets beside the repository when it exists", () => {
    const shared = resolve(repoRoot(), "..", "shared", "datasets");
    const { LML_DATASETS: _, ...noEnv } = env;
    const origins = datasetRoots(noEnv).map((r) => `${r.origin}:${r.path}`);
    expect(origins).toContain(`data-dir:${join(base, "data", "datasets")}`);
    // present or not on this machine, the default is exactly that folder or nothing
    expect(origins.filter((o) => o.startsWith("shared:"))).toEqual(
      origins.some((o) => o.startsWith("shared:")) ? [`shared:${shared}`] : [],
    );
  });
});

describe("data-path confinement (issue 16.1)", () => {
  it("refuses the reported leak — data.real {dir: /etc, trainList: /etc/passwd} — naming the field, quoting nothing", () => {
    const config = parseRunConfig(
      { regime: "supervised-real", data: { real: { source: "300w", dir: "/etc", trainList: "/etc/passwd" } } },
      "spec.yaml",
    );
    expect(() => checkDataPaths(config, roots, "spec.yaml: cell 0")).toThrow(UsageError);
    expect(() => checkDataPaths(config, roots, "spec.yaml: cell 0")).toThrow(
      /^spec\.yaml: cell 0: data\.real\.dir: \/etc is outside every dataset root/,
    );
    // the list alone, with a legal folder
    const listOnly = parseRunConfig(
      { regime: "supervised-real", data: { real: { source: "300w", dir: join(base, "roots", "faces"), trainList: "/etc/passwd" } } },
      "x",
    );
    expect(() => checkDataPaths(listOnly, roots, "")).toThrow(/^data\.real\.trainList: \/etc\/passwd is outside every dataset root/);
    // and the message carries no file content, nor the roots' paths
    try {
      checkDataPaths(config, roots, "");
    } catch (e) {
      expect((e as Error).message).not.toMatch(/root:x|bash/);
      expect((e as Error).message).not.toContain(base);
    }
  });

  it("accepts paths inside a root, and refuses '..' and symbolic links that lead out", async () => {
    expect(confineDataPath(join(base, "roots", "faces"), roots, "f")).toBe(join(base, "roots", "faces"));
    expect(() => confineDataPath(join(base, "roots", "..", "data", "x"), roots, "f")).toThrow(/outside every dataset root/);
    await symlink("/etc", join(base, "roots", "escape"));
    expect(() => confineDataPath(join(base, "roots", "escape"), roots, "f")).toThrow(/outside every dataset root/);
    expect(() => confineDataPath(join(base, "roots", "escape", "passwd"), roots, "f")).toThrow(/outside every dataset root/);
    // proxy-real reads no files
    expect(() => checkDataPaths(parseRunConfig({ regime: "supervised-real" }, "x"), [], "")).not.toThrow();
  });
});

describe("splits", () => {
  it("are a dataset's sub-folders, else its <split>.txt lists, else the spec's list fields", () => {
    const faces = datasetSplits(join(base, "roots", "faces"));
    expect(Object.keys(faces)).toEqual(["train", "common"]);
    expect(faces.train).toEqual({ split: "train", kind: "folder", path: join(base, "roots", "faces", "train") });
    const listed = datasetSplits(join(base, "roots", "listed"));
    expect(listed.common).toEqual({ split: "common", kind: "list", path: join(base, "roots", "listed", "common.txt") });
  });

  it("open with their faces; a missing challenging split is null (never another set), a missing train split an error", async () => {
    const real = { dir: join(base, "roots", "faces") };
    expect((await openRealSplit(real, "train", roots))!.entries.map((e) => e.name)).toEqual(["breakingbad", "einstein"]);
    expect((await openRealSplit(real, "common", roots))!.entries.map((e) => e.name)).toEqual(["einstein"]);
    expect(await openRealSplit(real, "challenging", roots)).toBeNull();
    const listed = { dir: join(base, "roots", "listed") };
    expect((await openRealSplit(listed, "common", roots))!.entries.map((e) => e.name)).toEqual(["all/breakingbad"]);
    await expect(openRealSplit({ dir: join(base, "roots", "not-a-dataset") }, "train", roots)).rejects.toThrow(
      /data\.real\.dir: .* has no train split \(no train\/ sub-folder, no train\.txt list, no data\.real\.trainList\)/,
    );
    await expect(openRealSplit({ dir: "/etc", trainList: "/etc/passwd" }, "train", roots)).rejects.toThrow(
      /data\.real\.dir: \/etc is outside/,
    );
  });
});

describe("discovery and registration", () => {
  it("lists the datasets under the roots with their splits, counts and SOURCE.md", async () => {
    const all = await listDatasets(roots);
    expect(all.map((d) => d.name)).toEqual(["faces", "listed"]);
    expect(all[0].splits.map((s) => [s.split, s.kind, s.count])).toEqual([
      ["train", "folder", 2],
      ["common", "folder", 1],
    ]);
    expect(all[0].sourceText).toContain("Research use only.");
    expect(all[1].splits.map((s) => [s.split, s.kind, s.count])).toEqual([
      ["train", "list", 1],
      ["common", "list", 1],
    ]);
  });

  it("registers a dataset folder (a root from then on), refusing folders without a train split and taken names", async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), "lml-registered-"));
    await mkdir(join(elsewhere, "train"));
    for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `einstein.${ext}`), join(elsewhere, "train", `einstein.${ext}`));
    await expect(registerDataset("etc", "/etc", env)).rejects.toThrow(/\/etc: not a dataset folder/);
    await expect(registerDataset("bad name", elsewhere, env)).rejects.toThrow(/dataset name "bad name" must be/);
    await registerDataset("mine", elsewhere, env);
    await expect(registerDataset("mine", elsewhere, env)).rejects.toThrow(/already registered/);
    expect(readRegistrations(env).map((r) => r.name)).toEqual(["mine"]);
    const withIt = datasetRoots(env);
    expect(withIt.at(-1)).toMatchObject({ origin: "registered", name: "mine" });
    expect(() => confineDataPath(join(elsewhere, "train"), withIt, "f")).not.toThrow();
    expect((await listDatasets(withIt)).map((d) => d.name)).toEqual(["faces", "listed", "mine"]);
    await unregisterDataset("mine", env);
    expect(() => confineDataPath(join(elsewhere, "train"), datasetRoots(env), "f")).toThrow(/outside/);
    await expect(unregisterDataset("mine", env)).rejects.toThrow(/no registered dataset named "mine"/);
  });
});

describe("grids/seed-study-300w.yaml", () => {
  const file = resolve(dirname(fileURLToPath(import.meta.url)), "../../../grids/seed-study-300w.yaml");
  const shared = resolve(repoRoot(), "..", "shared", "datasets", "300w128");

  it("is the four regimes × 3 seeds on the shared 300-W folder, validated on real-val", () => {
    const cells = expandGrid(parseGridSpec(readFileSync(file, "utf8"), "seed-study-300w.yaml"), "seed-study-300w.yaml");
    expect(cells).toHaveLength(12);
    expect(new Set(cells.map((c) => c.regime)).size).toBe(4);
    expect(new Set(cells.map((c) => c.seed))).toEqual(new Set([1, 2, 3]));
    for (const c of cells) {
      expect(c.config.data.real).toEqual({ source: "300w", dir: "../shared/datasets/300w128" });
      expect(c.config.data.validation).toEqual({ fraction: 0.1, seed: 505 });
    }
  });

  it.skipIf(!existsSync(join(shared, "train")))(
    `reads inside the default dataset root, and the folder has train and common but no challenging split${existsSync(join(shared, "train")) ? "" : " [skipped: no ../shared/datasets/300w128]"}`,
    () => {
      const { LML_DATASETS: _, ...env } = process.env;
      const cells = expandGrid(parseGridSpec(readFileSync(file, "utf8"), "g.yaml"), "g.yaml");
      expect(() => checkDataPaths(cells[0].config, datasetRoots(env), "g.yaml")).not.toThrow();
      expect(Object.keys(datasetSplits(shared))).toEqual(["train", "common"]);
    },
  );
});
