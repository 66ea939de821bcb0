import YAML from "yaml";
import { z } from "zod";
import { UsageError } from "./errors";
import { describeIssue, showValue as show } from "./issue-messages";
import { nameProblem, nameSchema } from "./names";
import { parseRunConfig, RunConfigSchema, type RunConfig } from "./run-config";
import { DB_INT_MAX } from "./run-config-rules";

/**
 * Grid specs: a W&B-sweep-like file (YAML or JSON) that expands into runs, shared by `lml grid`, the
 * worker and the dashboard.
 *
 *     name: seed-study
 *     method: grid
 *     parameters:                      # dotted RunConfig paths; the cartesian product of their values
 *       regime: { values: [synthetic-only, syn-real-label-adaptation] }
 *       seed: [1, 2, 3]                # a bare list works too
 *       train.lr: { values: [0.001, 0.0003] }
 *     defaults:                        # a partial RunConfig under every cell
 *       train: { epochs: 5 }
 *     priority: 0
 *
 * Every error is a UsageError "<file>: <field path>: <what>, got <value>", e.g.
 * `spec.yaml: parameters.train.lr.values[2]: expected number, got "fast"`.
 */

const ParameterSchema = z.union(
  [z.array(z.unknown()), z.object({ values: z.array(z.unknown()) }).strict(), z.object({ value: z.unknown() }).strict()],
  { error: "expected a list of values, { values: [...] } or { value: ... }" },
);

/**
 * Most runs one grid may expand to. The expansion, the submit transaction and the dashboard's preview
 * (which lists every cell) all grow with it; a larger study is several grids.
 */
export const MAX_GRID_RUNS = 1000;

/** Most attempts a run may be given (`maxAttempts`): a run that failed this often will not pass. */
export const MAX_RUN_ATTEMPTS = 100;

/** The spec's outer structure; field values inside `parameters`/`defaults` are checked against RunConfig. */
export const GridSpecSchema = z
  .object({
    name: nameSchema(),
    description: z.string().optional(),
    method: z.literal("grid"),
    parameters: z.record(z.string(), ParameterSchema),
    defaults: z.record(z.string(), z.unknown()).default({}),
    /** Higher runs first (queue order). */
    priority: z.number().int().min(-DB_INT_MAX).max(DB_INT_MAX).default(0),
    /** Attempts before a run that keeps failing is marked FAILED. */
    maxAttempts: z.number().int().min(1).max(MAX_RUN_ATTEMPTS).optional(),
  })
  .strict();

export interface GridSpec {
  name: string;
  description?: string;
  method: "grid";
  /** Dotted RunConfig path → the values it takes (normalised to a list), in the spec's order. */
  parameters: Record<string, unknown[]>;
  defaults: Record<string, unknown>;
  priority: number;
  maxAttempts?: number;
}

export interface GridCell {
  /** "<grid>/<path>=<value>,…" over the parameters that vary (regime and seed always). */
  name: string;
  regime: RunConfig["regime"];
  seed: number;
  config: RunConfig;
}

// --- zod schema walking (zod 4 internals: `_zod.def.type` and `innerType`) ----------------------------

type AnySchema = z.ZodType;

/** The schema under defaults, optionals and transforms (a pipe's input side: RunConfigSchema's fields). */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema as AnySchema & { _zod: { def: { type: string; innerType?: AnySchema; in?: AnySchema } } };
  for (;;) {
    const def = s._zod.def;
    if (["default", "optional", "nullable", "prefault"].includes(def.type) && def.innerType) s = def.innerType as typeof s;
    else if (def.type === "pipe" && def.in) s = def.in as typeof s;
    else return s;
  }
}

function objectShape(schema: AnySchema): Record<string, AnySchema> | null {
  const s = unwrap(schema) as AnySchema & { _zod: { def: { type: string } }; shape?: Record<string, AnySchema> };
  return s._zod.def.type === "object" && s.shape ? s.shape : null;
}

/** The RunConfig field schema at a dotted path, or the path's first unknown segment. */
function schemaAt(path: string): { schema: AnySchema } | { unknown: string } {
  let schema: AnySchema = RunConfigSchema;
  const parts = path.split(".");
  for (let i = 0; i < parts.length; i++) {
    const shape = objectShape(schema);
    if (!shape || !Object.hasOwn(shape, parts[i])) return { unknown: parts.slice(0, i + 1).join(".") };
    schema = shape[parts[i]];
  }
  return { schema };
}

function fail(fileName: string, msg: string): never {
  throw new UsageError(`${fileName}: ${msg}`);
}

function check(schema: AnySchema, value: unknown, base: string, fileName: string): unknown {
  const r = schema.safeParse(value);
  if (!r.success) fail(fileName, describeIssue(base, r.error.issues[0], value));
  return r.data;
}

/** Checks a partial RunConfig value against the schema at `path`, descending into plain objects. */
function checkPartial(path: string, value: unknown, where: string, fileName: string): void {
  const at = schemaAt(path);
  if ("unknown" in at) fail(fileName, `${where}: unknown RunConfig field "${at.unknown}"`);
  const shape = objectShape(at.schema);
  if (shape && value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) checkPartial(`${path}.${k}`, v, `${where}.${k}`, fileName);
    return;
  }
  // A leaf (or a whole union-typed object like data.real): it must be given, so unwrap the default.
  check(unwrap(at.schema), value, where, fileName);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (o[p] === null || typeof o[p] !== "object" || Array.isArray(o[p])) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = value;
}

function deepClone<T>(v: T): T {
  return structuredClone(v);
}

// --- public API -------------------------------------------------------------------------------------

/** Validates a spec object (already parsed from YAML/JSON); `fileName` prefixes every error. */
export function validateGridSpec(raw: unknown, fileName = "grid spec"): GridSpec {
  const outer = check(GridSpecSchema, raw, "", fileName) as z.infer<typeof GridSpecSchema>;
  const parameters: Record<string, unknown[]> = {};
  const paths = Object.keys(outer.parameters);
  if (paths.length === 0 && outer.defaults.regime === undefined)
    fail(fileName, "parameters: give at least one parameter, or a regime in defaults");
  const listOf = (p: (typeof outer.parameters)[string]) => (Array.isArray(p) ? p : "values" in p ? p.values : [p.value]);
  // Counted before any value is checked: a short spec can list a product of millions of cells.
  const runs = paths.reduce((n, path) => n * listOf(outer.parameters[path]).length, 1);
  if (runs > MAX_GRID_RUNS)
    fail(
      fileName,
      `parameters: the grid expands to ${runs} runs (${paths.map((p) => listOf(outer.parameters[p]).length).join(" × ")}), ` +
        `more than the ${MAX_GRID_RUNS} one grid may hold; split it into several grids`,
    );
  for (const path of paths) {
    const p = outer.parameters[path];
    const values = listOf(p);
    const list = Array.isArray(p) ? `parameters.${path}` : `parameters.${path}.values`;
    const at = schemaAt(path);
    if ("unknown" in at) fail(fileName, `parameters.${path}: unknown RunConfig field "${at.unknown}"`);
    const overlap = paths.find((q) => q !== path && path.startsWith(q + "."));
    if (overlap) fail(fileName, `parameters.${path}: overlaps parameters.${overlap}`);
    if (values.length === 0) fail(fileName, `${list}: list at least one value`);
    const seen = new Map<string, number>();
    values.forEach((v, i) => {
      const where = "value" in p && !Array.isArray(p) ? `parameters.${path}.value` : `${list}[${i}]`;
      check(unwrap(at.schema), v, where, fileName);
      const key = JSON.stringify(v);
      if (seen.has(key)) fail(fileName, `${where}: duplicate of ${list}[${seen.get(key)}] (${show(v)})`);
      seen.set(key, i);
    });
    parameters[path] = values;
  }
  for (const [k, v] of Object.entries(outer.defaults)) checkPartial(k, v, `defaults.${k}`, fileName);
  if (!("regime" in parameters) && outer.defaults.regime === undefined)
    fail(fileName, `parameters.regime: no regime given (add it to parameters or defaults)`);
  return { ...outer, parameters };
}

/** Parses YAML or JSON text (JSON is YAML) and validates it; errors name the file, line or field. */
export function parseGridSpec(text: string, fileName: string): GridSpec {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const err = e as Error & { linePos?: [{ line: number; col: number }] };
    const pos = err.linePos?.[0];
    const firstLine = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    fail(pos ? `${fileName}:${pos.line}:${pos.col}` : fileName, `not valid YAML/JSON: ${firstLine}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    fail(fileName, `expected a mapping at the top level, got ${show(raw)}`);
  return validateGridSpec(raw, fileName);
}

export interface ExpandOptions {
  /**
   * Give up with a UsageError once expanding has taken this long (milliseconds): for servers, which
   * expand specs from anyone on the request thread.
   */
  budgetMs?: number;
}

/**
 * The cartesian product of the parameters over the defaults, in spec order (the last parameter varies
 * fastest); each cell validated by RunConfigSchema (defaults filled in).
 */
export function expandGrid(spec: GridSpec, fileName = spec.name, options: ExpandOptions = {}): GridCell[] {
  const started = performance.now();
  const checked = validateGridSpec(spec, fileName);
  const paths = Object.keys(checked.parameters);
  const varying = paths.filter((p) => checked.parameters[p].length > 1 || p === "regime" || p === "seed");
  const cells: GridCell[] = [];
  const total = paths.reduce((n, p) => n * checked.parameters[p].length, 1);
  for (let c = 0; c < total; c++) {
    if (options.budgetMs !== undefined && performance.now() - started > options.budgetMs)
      fail(fileName, `expanding the grid took longer than ${options.budgetMs} ms (stopped at cell ${c} of ${total})`);
    const config = deepClone(checked.defaults) as Record<string, unknown>;
    const label: string[] = [];
    let rest = c;
    const picks: [string, unknown][] = [];
    for (let k = paths.length - 1; k >= 0; k--) {
      const values = checked.parameters[paths[k]];
      picks.unshift([paths[k], values[rest % values.length]]);
      rest = Math.floor(rest / values.length);
    }
    for (const [path, value] of picks) {
      setPath(config, path, deepClone(value));
      if (varying.includes(path)) label.push(`${path}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
    }
    const where = `cell ${c} (${label.join(", ") || "defaults"})`;
    const full = parseRunConfig(config, `${fileName}: ${where}`);
    const name = `${checked.name}/${label.join(",")}`.replace(/\/$/, "");
    // A string value (a path, say) is part of the run's name, which terminals and tables show.
    const problem = nameProblem(name);
    if (problem) fail(fileName, `${where}: the run name ${show(name)} ${problem}`);
    cells.push({ name, regime: full.regime, seed: full.seed, config: full });
  }
  return cells;
}
