/**
 * The study's results tables built from stored evaluations: rows = regimes (optionally split by config
 * fields), columns = test sets, one table per protocol; mean ± std over seeds with n, best per column and
 * whether it is significantly better than the runner-up (paired test over images).
 *
 * Pure functions on plain rows so that the dashboard (through tRPC) and `lml report` (directly) build the
 * very same numbers.
 */
import { mean, pairedTTest, std } from "./stats";

export const NORMS = ["inter-pupil", "inter-ocular", "bbox"] as const;
export type Norm = (typeof NORMS)[number];
export const METRICS = ["nme", "auc8", "fr8", "auc10", "fr10"] as const;
export type Metric = (typeof METRICS)[number];
export const TABLE_PROTOCOLS = ["nearest-subset", "test-time-mlp"] as const;
export const TEST_SETS = ["synthetic-test", "common", "challenging"] as const;

export const METRIC_LABELS: Record<Metric, string> = {
  nme: "NME (%)",
  auc8: "AUC@8 (%)",
  fr8: "FR@8 (%)",
  auc10: "AUC@10 (%)",
  fr10: "FR@10 (%)",
};
/** AUC grows with quality; NME and failure rate shrink. */
export function lowerIsBetter(metric: Metric): boolean {
  return metric !== "auc8" && metric !== "auc10";
}

export const PROTOCOL_LABELS: Record<string, string> = {
  "nearest-subset": "Nearest-subset mapping",
  "test-time-mlp": "Test-time label adaptation (MLP)",
  dense: "Dense (all synthetic points)",
  direct: "Direct 68-point prediction",
};
export const TEST_SET_LABELS: Record<string, string> = {
  "synthetic-test": "Synthetic test",
  common: "Common test",
  challenging: "Challenging test",
  train: "Training set",
};
/** The study's wording for each regime (RunConfig's regime ids). */
export const REGIME_LABELS: Record<string, string> = {
  "synthetic-only": "Synthetic only",
  "syn-real-label-adaptation": "Syn+real with label adaptation",
  "uda-discriminator": "Unsupervised, with a discriminator",
  "supervised-real": "Supervised, real data only",
};
const REGIME_ORDER = Object.keys(REGIME_LABELS);

/** The evaluation columns the tables read (a Prisma `Evaluation` row fits). */
export interface EvaluationLike {
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
  runIds: string[];
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

function show(v: unknown): string {
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

function metricValue(e: EvaluationLike, metric: Metric): number {
  return e[metric];
}

/**
 * The evaluation a table cell uses for one run: the table's protocol, else a protocol that does not
 * depend on the mapping — "direct" (a 68-point model needs no mapping) or, on the synthetic test set,
 * "dense" (the synthetic points themselves; the study shows that number in both tables).
 */
function pickEvaluation(evals: EvaluationLike[], protocol: string, testSet: string): EvaluationLike | undefined {
  const order = [protocol, "direct", ...(testSet === "synthetic-test" ? ["dense"] : [])];
  for (const p of order) {
    const e = evals.find((x) => x.protocol === p && x.testSet === testSet);
    if (e) return e;
  }
  return undefined;
}

/** Per-image errors averaged over a row's runs, when every run has them for the same images. */
function perImageMean(evals: EvaluationLike[]): number[] | null {
  if (evals.length === 0) return null;
  const len = evals[0].perImage.length;
  if (len < 2 || evals.some((e) => e.perImage.length !== len)) return null;
  const out = new Array<number>(len).fill(0);
  for (const e of evals) for (let i = 0; i < len; i++) out[i] += e.perImage[i] / evals.length;
  return out;
}

/** Builds the study's tables (one per protocol) from evaluation and run rows. */
export function buildStudyTables(
  evaluations: readonly EvaluationLike[],
  runs: readonly RunLike[],
  options: StudyTableOptions,
): StudyTable[] {
  const { norm, metric } = options;
  const protocols = options.protocols ?? TABLE_PROTOCOLS;
  const testSets = options.testSets ?? TEST_SETS;
  const groupBy = [...(options.groupBy ?? [])];
  const alpha = options.alpha ?? 0.05;
  const lower = lowerIsBetter(metric);

  const filter = Object.entries(options.filter ?? {});
  const keptRuns = runs.filter((r) => filter.every(([path, v]) => show(getPath(r.config, path)) === String(v)));
  const evalsByRun = new Map<string, EvaluationLike[]>();
  for (const e of evaluations) {
    if (e.norm !== norm) continue;
    const list = evalsByRun.get(e.runId);
    if (list) list.push(e);
    else evalsByRun.set(e.runId, [e]);
  }

  // Rows: a regime, split by the groupBy fields' values.
  const rowsByKey = new Map<string, { regime: string; group: Record<string, string>; runs: RunLike[] }>();
  for (const r of keptRuns) {
    if (!evalsByRun.has(r.id)) continue;
    const group = Object.fromEntries(groupBy.map((p) => [p, show(getPath(r.config, p))]));
    const key = [r.regime, ...groupBy.map((p) => `${p}=${group[p]}`)].join(" · ");
    const row = rowsByKey.get(key);
    if (row) row.runs.push(r);
    else rowsByKey.set(key, { regime: r.regime, group, runs: [r] });
  }
  const rowOrder = [...rowsByKey.entries()].sort(([ka, a], [kb, b]) => {
    const ra = REGIME_ORDER.indexOf(a.regime);
    const rb = REGIME_ORDER.indexOf(b.regime);
    if (ra !== rb) return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
    return ka.localeCompare(kb, "en", { numeric: true });
  });

  return protocols.map((protocol) => {
    const perImageByCell = new Map<string, number[] | null>();
    const rows: StudyRow[] = rowOrder.map(([key, row]) => {
      const cells: Record<string, StudyCell | null> = {};
      for (const testSet of testSets) {
        const picked: { run: RunLike; e: EvaluationLike }[] = [];
        for (const run of row.runs) {
          const e = pickEvaluation(evalsByRun.get(run.id) ?? [], protocol, testSet);
          if (e) picked.push({ run, e });
        }
        if (picked.length === 0) {
          cells[testSet] = null;
          continue;
        }
        const values = picked.map((p) => metricValue(p.e, metric));
        cells[testSet] = {
          mean: mean(values),
          std: std(values),
          n: values.length,
          images: Math.min(...picked.map((p) => p.e.count)),
          runIds: picked.map((p) => p.run.id),
          protocols: [...new Set(picked.map((p) => p.e.protocol))].sort(),
          best: false,
        };
        perImageByCell.set(`${key}\u0000${testSet}`, perImageMean(picked.map((p) => p.e)));
      }
      const label = [REGIME_LABELS[row.regime] ?? row.regime, ...groupBy.map((p) => `${p}=${row.group[p]}`)].join(", ");
      return { key, label, regime: row.regime, group: row.group, cells };
    });

    for (const testSet of testSets) {
      const ranked = rows
        .filter((r) => r.cells[testSet] && Number.isFinite(r.cells[testSet]!.mean))
        .sort((a, b) => (lower ? 1 : -1) * (a.cells[testSet]!.mean - b.cells[testSet]!.mean));
      if (ranked.length === 0) continue;
      const best = ranked[0].cells[testSet]!;
      best.best = true;
      if (ranked.length < 2) continue;
      const next = ranked[1];
      const a = perImageByCell.get(`${ranked[0].key}\u0000${testSet}`) ?? null;
      const b = perImageByCell.get(`${next.key}\u0000${testSet}`) ?? null;
      // The paired test runs on per-image NME whatever metric is shown: AUC and FR summarise the same errors.
      const test = a && b ? pairedTTest(a, b) : null;
      best.vsNext = test
        ? { rowKey: next.key, p: test.p, significance: test.p < alpha ? "significant" : "not-significant", meanDiff: test.meanDiff }
        : { rowKey: next.key, p: null, significance: "untestable", meanDiff: null };
    }

    return {
      protocol,
      title: PROTOCOL_LABELS[protocol] ?? protocol,
      norm,
      metric,
      lowerIsBetter: lower,
      columns: testSets.map((t) => ({ testSet: t, label: TEST_SET_LABELS[t] ?? t })),
      groupBy,
      rows,
      alpha,
    };
  });
}
