/**
 * The study's results tables built from stored evaluations: rows = regimes (optionally split by config
 * fields), columns = test sets, one table per protocol; mean ± std over seeds with n, best per column and
 * whether it is significantly better than the runner-up (paired test over images).
 *
 * Pure functions on plain rows so that the dashboard (through tRPC) and `lml report` (directly) build the
 * very same numbers. Built in two steps so that the paired tests (the costly part: they read per-image
 * errors) can come from elsewhere: `assembleStudyTables` (means, no marks) → `columnPairs` (each
 * column's best and runner-up) → `markBest` with a test per pair. `buildStudyTables` does all three with
 * the per-image errors the evaluations carry; the evaluations router caches the tests instead.
 */
import { comparePaired, mean, protocolFallback, REGIMES, sampleStd } from "@lml/core";
import {
  cellKey,
  getPath,
  lowerIsBetter,
  PROTOCOL_LABELS,
  REGIME_LABELS,
  show,
  TABLE_PROTOCOLS,
  TEST_SET_LABELS,
  TEST_SETS,
  type EvaluationLike,
  type Metric,
  type RunLike,
  type StudyCell,
  type StudyRow,
  type StudyTable,
  type StudyTableOptions,
} from "./format";

const REGIME_ORDER: readonly string[] = REGIMES;

function metricValue(e: EvaluationLike, metric: Metric): number {
  return e[metric];
}

/** The evaluation a table cell uses for one run: the first of core's `protocolFallback` it has. */
function pickEvaluation(evals: EvaluationLike[], protocol: string, testSet: string): EvaluationLike | undefined {
  for (const p of protocolFallback(protocol, testSet)) {
    const e = evals.find((x) => x.protocol === p && x.testSet === testSet);
    if (e) return e;
  }
  return undefined;
}

/** Per-image errors averaged over a cell's runs (in their order), when every run has them for the same images. */
export function perImageMean(vectors: readonly (readonly number[])[]): number[] | null {
  if (vectors.length === 0) return null;
  const len = vectors[0].length;
  if (len < 2 || vectors.some((v) => v.length !== len)) return null;
  const out = new Array<number>(len).fill(0);
  for (const v of vectors) for (let i = 0; i < len; i++) out[i] += v[i] / vectors.length;
  return out;
}

/** Tables without best marks, and the evaluations each cell averaged (by `cellKey`, in run order). */
export interface AssembledTables {
  tables: StudyTable[];
  sources: Map<string, EvaluationLike[]>;
}

/** Rows, cells and means of the study's tables (one per protocol); `best` all false, no tests yet. */
export function assembleStudyTables(
  evaluations: readonly EvaluationLike[],
  runs: readonly RunLike[],
  options: StudyTableOptions,
): AssembledTables {
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

  const sources = new Map<string, EvaluationLike[]>();
  const tables = protocols.map((protocol): StudyTable => {
    const rows: StudyRow[] = rowOrder.map(([key, row]) => {
      const cells: Record<string, StudyCell | null> = {};
      for (const testSet of testSets) {
        const picked: EvaluationLike[] = [];
        for (const run of row.runs) {
          const e = pickEvaluation(evalsByRun.get(run.id) ?? [], protocol, testSet);
          if (e) picked.push(e);
        }
        if (picked.length === 0) {
          cells[testSet] = null;
          continue;
        }
        const values = picked.map((e) => metricValue(e, metric));
        cells[testSet] = {
          mean: mean(values),
          std: sampleStd(values),
          n: values.length,
          images: Math.min(...picked.map((e) => e.count)),
          protocols: [...new Set(picked.map((e) => e.protocol))].sort(),
          best: false,
        };
        sources.set(cellKey(protocol, key, testSet), picked);
      }
      const label = [REGIME_LABELS[row.regime] ?? row.regime, ...groupBy.map((p) => `${p}=${row.group[p]}`)].join(", ");
      return { key, label, regime: row.regime, group: row.group, cells };
    });
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
  return { tables, sources };
}

/** One column of one table: its best row and the runner-up (null when only one row has a value). */
export interface ColumnPair {
  table: StudyTable;
  testSet: string;
  best: StudyRow;
  next: StudyRow | null;
}

/** Each column's best and runner-up, ranked by mean (the metric's direction; ties keep row order). */
export function columnPairs(tables: readonly StudyTable[]): ColumnPair[] {
  const out: ColumnPair[] = [];
  for (const table of tables)
    for (const { testSet } of table.columns) {
      const ranked = table.rows
        .filter((r) => r.cells[testSet] && Number.isFinite(r.cells[testSet]!.mean))
        .sort((a, b) => (table.lowerIsBetter ? 1 : -1) * (a.cells[testSet]!.mean - b.cells[testSet]!.mean));
      if (ranked.length > 0) out.push({ table, testSet, best: ranked[0], next: ranked[1] ?? null });
    }
  return out;
}

/** A paired test's outcome; null when it cannot be run (per-image errors missing or on different images). */
export type PairedTest = { p: number; significant: boolean; meanDiff: number } | null;

/**
 * The paired test between two cells' per-image mean errors. It runs on per-image NME whatever metric
 * is shown (AUC and FR summarise the same errors): core's Wilcoxon signed-rank, since per-image NMEs
 * are heavy-tailed.
 */
export function pairedTest(a: number[] | null, b: number[] | null, alpha: number): PairedTest {
  const test = a && b && a.length === b.length ? comparePaired(a, b, { alpha }) : null;
  return test && Number.isFinite(test.p) ? { p: test.p, significant: test.significant, meanDiff: test.meanDiff } : null;
}

/** Marks each column's best cell and, where there is a runner-up, its test against it. */
export function markBest(pairs: readonly ColumnPair[], testOf: (pair: ColumnPair) => PairedTest): void {
  for (const pair of pairs) {
    const best = pair.best.cells[pair.testSet]!;
    best.best = true;
    if (!pair.next) continue;
    const test = testOf(pair);
    best.vsNext = test
      ? { rowKey: pair.next.key, p: test.p, significance: test.significant ? "significant" : "not-significant", meanDiff: test.meanDiff }
      : { rowKey: pair.next.key, p: null, significance: "untestable", meanDiff: null };
  }
}

/** Builds the study's tables (one per protocol) from evaluation rows (with their perImage) and run rows. */
export function buildStudyTables(
  evaluations: readonly EvaluationLike[],
  runs: readonly RunLike[],
  options: StudyTableOptions,
): StudyTable[] {
  const { tables, sources } = assembleStudyTables(evaluations, runs, options);
  const vectors = (table: StudyTable, row: StudyRow, testSet: string) =>
    perImageMean((sources.get(cellKey(table.protocol, row.key, testSet)) ?? []).map((e) => e.perImage));
  markBest(columnPairs(tables), (pair) =>
    pairedTest(vectors(pair.table, pair.best, pair.testSet), vectors(pair.table, pair.next!, pair.testSet), pair.table.alpha),
  );
  return tables;
}
