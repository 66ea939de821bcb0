/**
 * Real datasets as a first-class thing (Node only).
 *
 * A dataset is a folder of image/.pts pairs (300-W layout) whose SPLITS are, for each of train, common
 * and challenging: a sub-folder `<split>/`, or a list file `<split>.txt` in the folder (entries relative
 * to the folder); `data.real.trainList`/`commonList`/`challengingList` name list files explicitly and win.
 * A dataset needs a train split; a missing challenging split means no challenging evaluation at all
 * (tables show "no data"), never another set in its place.
 *
 * DATASET ROOTS confine what a run may read (issue 16.1): a spec's `data.real.dir` and list files must
 * lie inside one of
 * - `LML_DATASETS`: folders separated by ":" (default: `../shared/datasets` beside the repository, when
 *   it exists; set it empty for none), each sub-folder with a train split being a dataset;
 * - the data dir's `datasets/` folder (`$LML_DATA_DIR/datasets`, default `.data/datasets`), likewise;
 * - a REGISTERED dataset folder (`lml datasets register`, the dashboard's Datasets page).
 * Registrations live in `$LML_DATA_DIR/datasets.json`, beside the database and caches of that machine:
 * a path only means something on the machine that registered it, so they are machine-local like
 * LML_DATASETS (a worker on another machine is given its own roots), need no schema migration, and
 * `lml train` (no database) honours them too.
 *
 * Relative paths (in specs and LML_DATASETS) are relative to the repository root, whatever the current
 * folder of the process reading them (the dashboard runs in apps/web, the worker at the root).
 * (`turbopackIgnore` comments: these paths are data chosen at run time, not files for the dashboard's
 * build to trace.)
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdir, readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { applySplitList, isInside, list300W, type FaceEntry } from "./dataset-300w";
import { UsageError } from "./errors";

/** The splits of a real dataset, in order: training faces, then the two 300-W test sets. */
export const DATASET_SPLITS = ["train", "common", "challenging"] as const;
export type DatasetSplit = (typeof DATASET_SPLITS)[number];

/** The `data.real` fields of a 300-W source (RunConfig). */
export interface RealFolderSource {
  dir: string;
  trainList?: string;
  commonList?: string;
  challengingList?: string;
}

const LIST_FIELD: Record<DatasetSplit, "trainList" | "commonList" | "challengingList"> = {
  train: "trainList",
  common: "commonList",
  challenging: "challengingList",
};

// --- where things are -------------------------------------------------------------------------------

let cachedRoot: string | null = null;
/** The repository root: the nearest folder up from the current one holding packages/core (else the current folder). */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let d = process.cwd();
  for (let k = 0; k < 12; k++) {
    if (existsSync(join(d, "packages", "core", "package.json"))) return (cachedRoot = d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return (cachedRoot = process.cwd());
}

/** A data path as the trainer reads it: relative paths are relative to the repository root. */
export function resolveDataPath(path: string): string {
  return resolve(repoRoot(), path);
}

/** The data dir: `$LML_DATA_DIR` (default `.data`), relative to the repository root. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolveDataPath(env.LML_DATA_DIR || ".data");
}

/** Where registrations are kept. */
export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), "datasets.json");
}

export type RootOrigin = "LML_DATASETS" | "shared" | "data-dir" | "registered";

/** A folder runs may read inside; `name` for a registered dataset. */
export interface DataRoot {
  path: string;
  origin: RootOrigin;
  name?: string;
}

const Registration = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
      error: "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    }),
    path: z.string().min(1),
    registeredAt: z.string(),
  })
  .strict();
export type DatasetRegistration = z.infer<typeof Registration>;
const Registry = z.object({ datasets: z.array(Registration) }).strict();

/** The registered datasets (none when the file is absent); a damaged file is an error naming it. */
export function readRegistrations(env: NodeJS.ProcessEnv = process.env): DatasetRegistration[] {
  const file = registryPath(env);
  if (!existsSync(file)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message.split("\n")[0]}); fix or remove it`);
  }
  const r = Registry.safeParse(raw);
  if (!r.success) throw new UsageError(`${file}: not a dataset registry ({ datasets: [{ name, path, registeredAt }] }); fix or remove it`);
  return r.data.datasets;
}

/** Every dataset root of this process, from the environment and the registry (see the module comment). */
export function datasetRoots(env: NodeJS.ProcessEnv = process.env): DataRoot[] {
  const roots: DataRoot[] = [];
  if (env.LML_DATASETS !== undefined) {
    for (const p of env.LML_DATASETS.split(delimiter).filter((s) => s.trim()))
      roots.push({ path: resolveDataPath(p.trim()), origin: "LML_DATASETS" });
  } else {
    const shared = resolve(repoRoot(), "..", "shared", "datasets");
    if (existsSync(shared)) roots.push({ path: shared, origin: "shared" });
  }
  roots.push({ path: join(dataDir(env), "datasets"), origin: "data-dir" });
  for (const r of readRegistrations(env)) roots.push({ path: resolveDataPath(r.path), origin: "registered", name: r.name });
  return roots;
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The absolute path of a data path (file or folder) named by `field`, if it lies inside a root — by
 * its name, and also once symbolic links are resolved. Otherwise a UsageError that names the field and
 * the path the spec gave, and nothing about the file or the roots (it reaches pages read without a token).
 */
export function confineDataPath(path: string, roots: readonly DataRoot[], field: string): string {
  const abs = resolveDataPath(path);
  const refuse = () =>
    new UsageError(
      `${field}: ${path} is outside every dataset root (LML_DATASETS, the data dir's datasets/ folder, registered datasets); ` +
        "put the dataset under one of them, or register it (lml datasets register)",
    );
  const within = roots.filter((r) => isInside(abs, r.path));
  if (within.length === 0) throw refuse();
  if (existsSync(/* turbopackIgnore: true */ abs)) {
    const real = realOrSelf(abs);
    if (!within.some((r) => isInside(real, realOrSelf(r.path)))) throw refuse();
  }
  return abs;
}

/** Every data path of a RunConfig's real source, confined (the 300-W folder and its list files); nothing to check for proxy-real. */
export function checkDataPaths(
  config: { data: { real: { source: string } & Partial<RealFolderSource> } },
  roots: readonly DataRoot[],
  where: string,
): void {
  const real = config.data.real;
  if (real.source !== "300w" || !real.dir) return;
  const prefix = where ? `${where}: ` : "";
  confineDataPath(real.dir, roots, `${prefix}data.real.dir`);
  for (const split of DATASET_SPLITS) {
    const list = real[LIST_FIELD[split]];
    if (list) confineDataPath(list, roots, `${prefix}data.real.${LIST_FIELD[split]}`);
  }
}

// --- splits -----------------------------------------------------------------------------------------

/** Where one split of a dataset comes from. */
export interface SplitSource {
  split: DatasetSplit;
  kind: "folder" | "list";
  /** The sub-folder, or the list file. */
  path: string;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** How each split of the dataset folder `dir` (absolute) is found; a split with none is absent. */
export function datasetSplits(dir: string, lists: Partial<RealFolderSource> = {}): Partial<Record<DatasetSplit, SplitSource>> {
  const out: Partial<Record<DatasetSplit, SplitSource>> = {};
  for (const split of DATASET_SPLITS) {
    const list = lists[LIST_FIELD[split]];
    if (list) out[split] = { split, kind: "list", path: resolveDataPath(list) };
    else if (isDir(join(/* turbopackIgnore: true */ dir, split)))
      out[split] = { split, kind: "folder", path: join(/* turbopackIgnore: true */ dir, split) };
    else if (isFile(join(dir, `${split}.txt`))) out[split] = { split, kind: "list", path: join(dir, `${split}.txt`) };
  }
  return out;
}

/** The faces of one split (name order; names relative to the split's folder, or to `dir` for a list). */
export async function splitEntries(dir: string, source: SplitSource): Promise<FaceEntry[]> {
  if (source.kind === "folder") return list300W(source.path);
  return applySplitList(await list300W(dir), source.path, dir);
}

/**
 * The split `split` of a run's 300-W source, confined to the roots, or null when the dataset has no
 * such split (only challenging may be absent). Errors name the config field.
 */
export async function openRealSplit(
  real: RealFolderSource,
  split: DatasetSplit,
  roots: readonly DataRoot[],
): Promise<{ dir: string; source: SplitSource; entries: FaceEntry[] } | null> {
  const dir = confineDataPath(real.dir, roots, "data.real.dir");
  for (const s of DATASET_SPLITS) {
    const list = real[LIST_FIELD[s]];
    if (list) confineDataPath(list, roots, `data.real.${LIST_FIELD[s]}`);
  }
  if (!isDir(dir)) throw new UsageError(`data.real.dir: ${real.dir} is not a folder`);
  const source = datasetSplits(dir, real)[split];
  if (!source) {
    if (split === "challenging") return null;
    throw new UsageError(
      `data.real.dir: ${real.dir} has no ${split} split (no ${split}/ sub-folder, no ${split}.txt list, no data.real.${LIST_FIELD[split]})`,
    );
  }
  const entries = await splitEntries(dir, source);
  if (entries.length === 0) throw new UsageError(`data.real.dir: the ${split} split of ${real.dir} has no faces (image + .pts pairs)`);
  return { dir, source, entries };
}

// --- discovery --------------------------------------------------------------------------------------

/** What the Datasets page and the New-grid form show of a dataset. */
export interface DatasetSummary {
  /** Unique among the known datasets: the folder name (or the registered name). */
  name: string;
  /** Absolute folder. */
  dir: string;
  /** The path a spec should write in `data.real.dir`: relative to the repository root when inside it or its parent. */
  specDir: string;
  origin: RootOrigin;
  splits: { split: DatasetSplit; kind: "folder" | "list"; path: string; count: number }[];
  /** The dataset's SOURCE.md (else README.md), its provenance and terms, up to 20,000 characters. */
  sourceText: string | null;
  sourceFile: string | null;
  /** Why the dataset cannot be used, when a split cannot be listed. */
  problem?: string;
}

const SOURCE_FILES = ["SOURCE.md", "README.md", "LICENSE.md", "TERMS.md"];

function specPathOf(abs: string): string {
  const root = repoRoot();
  const parent = dirname(root);
  if (isInside(abs, parent)) {
    const rel = abs.slice(root.length + 1);
    return isInside(abs, root) ? rel : "../" + abs.slice(parent.length + 1);
  }
  return abs;
}

async function summarise(name: string, dir: string, origin: RootOrigin): Promise<DatasetSummary> {
  const out: DatasetSummary = { name, dir, specDir: specPathOf(dir), origin, splits: [], sourceText: null, sourceFile: null };
  try {
    for (const source of Object.values(datasetSplits(dir))) {
      const entries = await splitEntries(dir, source);
      out.splits.push({ split: source.split, kind: source.kind, path: source.path, count: entries.length });
    }
  } catch (e) {
    out.problem = e instanceof UsageError ? e.message : String(e);
  }
  for (const f of SOURCE_FILES) {
    const p = join(/* turbopackIgnore: true */ dir, f);
    if (isFile(p)) {
      const text = await readFile(/* turbopackIgnore: true */ p, "utf8");
      out.sourceText = text.length > 20_000 ? text.slice(0, 20_000) + "\n…" : text;
      out.sourceFile = f;
      break;
    }
  }
  return out;
}

/** Whether `dir` looks like a dataset: it has a train split. */
export function isDatasetFolder(dir: string): boolean {
  return !!datasetSplits(dir).train;
}

/**
 * The datasets this process knows: each sub-folder with a train split of an LML_DATASETS (or shared)
 * root and of the data dir's datasets/, then the registered ones. Names are unique (a later dataset of
 * a taken name is called "<name>@<origin>").
 */
export async function listDatasets(roots: readonly DataRoot[] = datasetRoots()): Promise<DatasetSummary[]> {
  const found: { name: string; dir: string; origin: RootOrigin }[] = [];
  for (const r of roots) {
    if (r.origin === "registered") {
      found.push({ name: r.name!, dir: r.path, origin: r.origin });
      continue;
    }
    const subs = await readdir(r.path, { withFileTypes: true }).catch(() => []);
    for (const d of subs.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const dir = join(r.path, d.name);
      if (isDatasetFolder(dir)) found.push({ name: d.name, dir, origin: r.origin });
    }
  }
  const names = new Set<string>();
  const out: DatasetSummary[] = [];
  for (const f of found) {
    let name = f.name;
    if (names.has(name)) name = `${name}@${f.origin}`;
    for (let k = 2; names.has(name); k++) name = `${f.name}@${f.origin}-${k}`;
    names.add(name);
    out.push(await summarise(name, f.dir, f.origin));
  }
  return out;
}

/** One known dataset by name; a UsageError naming the known ones otherwise. */
export async function findDataset(name: string, roots: readonly DataRoot[] = datasetRoots()): Promise<DatasetSummary> {
  const all = await listDatasets(roots);
  const d = all.find((x) => x.name === name);
  if (!d) throw new UsageError(`no dataset "${name}" (known: ${all.map((x) => x.name).join(", ") || "none"})`);
  return d;
}

// --- registering ------------------------------------------------------------------------------------

async function writeRegistry(list: DatasetRegistration[], env: NodeJS.ProcessEnv): Promise<void> {
  const file = registryPath(env);
  await mkdir(dirname(file), { recursive: true });
  // Written under another name, then renamed: a reader never sees half a file.
  await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify({ datasets: list }, null, 2) + "\n");
  await rename(`${file}.${process.pid}.tmp`, file);
}

/**
 * Registers a dataset folder under a name, making it a root runs may read. The folder must exist and
 * have a train split (so that a registration cannot open an arbitrary folder such as /etc), the name
 * must be free. Returns the registration.
 */
export async function registerDataset(name: string, path: string, env: NodeJS.ProcessEnv = process.env): Promise<DatasetRegistration> {
  const r = Registration.shape.name.safeParse(name);
  if (!r.success) throw new UsageError(`dataset name ${JSON.stringify(name)} ${r.error.issues[0].message}`);
  const abs = resolveDataPath(path);
  const info = await stat(/* turbopackIgnore: true */ abs).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`${path}: not a folder`);
  if (!isDatasetFolder(abs))
    throw new UsageError(`${path}: not a dataset folder (it needs a train/ sub-folder or a train.txt list of image/.pts pairs)`);
  const list = readRegistrations(env);
  if (list.some((d) => d.name === name)) throw new UsageError(`a dataset named "${name}" is already registered`);
  const entry = { name, path: realOrSelf(abs), registeredAt: new Date().toISOString() };
  await writeRegistry([...list, entry], env);
  return entry;
}

/** Removes a registration (the folder itself is left alone). */
export async function unregisterDataset(name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const list = readRegistrations(env);
  if (!list.some((d) => d.name === name)) throw new UsageError(`no registered dataset named "${name}"`);
  await writeRegistry(
    list.filter((d) => d.name !== name),
    env,
  );
}
