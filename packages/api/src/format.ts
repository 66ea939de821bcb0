/**
 * Browser-safe pieces of the results tables: their types, labels, config flattening and number format.
 * The vocabulary (regimes, test sets, protocols, norms, metrics) is core's study.ts, imported from
 * "@lml/core/study" (no zod, no database), so client components can use this module.
 */
import {
  METRIC_INFO,
  METRICS,
  NORM_KINDS,
  PROTOCOL_LABELS as CORE_PROTOCOL_LABELS,
  REGIME_TRAITS,
  REGIMES,
  SPLIT_LABELS,
  TABLE_PROTOCOLS,
  TEST_SETS,
  lowerIsBetter,
  type Metric,
  type NormKind,
} from "@lml/core/study";

export { METRICS, TABLE_PROTOCOLS, TEST_SETS, lowerIsBetter, type Metric };
/** The normalisations a table can be built under (core's NORM_KINDS). */
export const NORMS = NORM_KINDS;
export type Norm = NormKind;

/** Column and export labels of the metrics. */
export const METRIC_LABELS = Object.fromEntries(METRICS.map((m) => [m, METRIC_INFO[m].label])) as Record<Metric, string>;
/** Table titles of the protocols (looked up by the string an Evaluation row holds). */
export const PROTOCOL_LABELS: Readonly<Record<string, string>> = CORE_PROTOCOL_LABELS;
/** Labels of the splits an evaluation names (test sets and "train"). */
export const TEST_SET_LABELS: Readonly<Record<string, string>> = SPLIT_LABELS;
/** The study's wording for each regime (RunConfig's regime ids), in table order. */
export const REGIME_LABELS: Readonly<Record<string, string>> = Object.fromEntries(REGIMES.map((r) => [r, REGIME_TRAITS[r].label]));

/** The evaluation columns the tables read (a Prisma `Evaluation` row fits). */
export interface EvaluationLike {
  /** The row's id, when known: it names the values (a rewrite gets a new id), so tests can be cached. */
  id?: string;
  runId: string;
  testSet: string;
  protocol: string;
  norm: string;
  nme: number;
  auc8: number;
  fr8: number;
  auc10: number;
  fr10: number;
  count: number;
  perImage: number[];
}
/** The run columns the tables read (a Prisma `Run` row fits). */
export interface RunLike {
  id: string;
  name?: string;
  regime: string;
  seed: number;
  config: unknown;
}

export interface StudyTableOptions {
  norm: Norm;
  metric: Metric;
  /** One table per protocol; default nearest-subset and test-time-mlp like the study. */
  protocols?: readonly string[];
  /** Columns; default synthetic-test, common, challenging. */
  testSets?: readonly string[];
  /** Extra config fields (dotted paths, e.g. "model.stacks") that split a regime's row. */
  groupBy?: readonly string[];
  /** Keep only runs whose config field (dotted path) equals the value (compared as strings). */
  filter?: Readonly<Record<string, string | number | boolean>>;
  /** Significance level of the paired test; default 0.05. */
  alpha?: number;
}

export type Significance = "significant" | "not-significant" | "untestable";

export interface StudyCell {
  mean: number;
  std: number;
  /** Runs (seeds) averaged. */
  n: number;
  /** Test images per run (the evaluations' count; the smallest when runs differ). */
  images: number;
  /** Protocols the values came from (differs from the table's when a fallback was used). */
  protocols: string[];
  best: boolean;
  /** Set on the best cell only: its paired test against the runner-up of the column. */
  vsNext?: { rowKey: string; p: number | null; significance: Significance; meanDiff: number | null };
}

export interface StudyRow {
  key: string;
  label: string;
  regime: string;
  /** Values of the groupBy fields for this row. */
  group: Record<string, string>;
  cells: Record<string, StudyCell | null>;
}

export interface StudyTable {
  protocol: string;
  title: string;
  norm: Norm;
  metric: Metric;
  lowerIsBetter: boolean;
  columns: { testSet: string; label: string }[];
  groupBy: string[];
  rows: StudyRow[];
  alpha: number;
  /**
   * Reference rows (published numbers, peers measured on the same images) for comparison: shown apart
   * from `rows`, never ranked, never marked best, never tested. Present when asked for.
   */
  references?: ReferenceRow[];
}

/** Where a reference row's numbers come from. */
export type ReferenceKind = "published" | "peer";

export interface ReferenceRow {
  key: string;
  kind: ReferenceKind;
  label: string;
  /** Citation or file the numbers come from. */
  source: string;
  /** What a reader must know to compare (detector, box, an unclear column…). */
  note: string | null;
  /** The value per test set (the table's metric under its norm), null where none is known. */
  cells: Record<string, number | null>;
}

/** Identifies one cell of the study tables. */
export function cellKey(protocol: string, rowKey: string, testSet: string): string {
  return `${protocol}\u001f${rowKey}\u001f${testSet}`; // jsonb (used to ship keys to SQL) cannot hold NUL
}

/** Value at a dotted path of a JSON object, or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Every leaf of a JSON object as dotted path → value (arrays are leaves). */
export function flattenConfig(obj: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj !== null && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = obj;
  return out;
}

export function show(v: unknown): string {
  return v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);
}

/** Config fields whose value is not the same in every config, with the distinct values (sorted). */
export function differingParams(configs: readonly unknown[]): { path: string; values: string[] }[] {
  const flat = configs.map((c) => flattenConfig(c));
  const paths = new Set(flat.flatMap((f) => Object.keys(f)));
  const out: { path: string; values: string[] }[] = [];
  for (const path of [...paths].sort()) {
    const values = new Set(flat.map((f) => show(f[path])));
    if (values.size > 1) out.push({ path, values: [...values].sort((a, b) => a.localeCompare(b, "en", { numeric: true })) });
  }
  return out;
}

/** The dashboard's and the exports' one way of printing a number (fixed decimals). */
export function formatNumber(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

export { transformer } from "./transformer";
