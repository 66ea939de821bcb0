/**
 * The study's results tables built from stored evaluations: rows = regimes (optionally split by config
 * fields), columns = test sets, one table per protocol; mean ± std over seeds with n, best per column and
 * whether it is significantly better than the runner-up (paired test over images).
 *
 * Pure functions on plain rows so that the dashboard (through tRPC) and `lml report` (directly) build the
 * very same numbers.
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
          std: sampleStd(values),
          n: values.length,
          images: Math.min(...picked.map((p) => p.e.count)),
          runIds: picked.map((p) => p.run.id),
          runProtocols: picked.map((p) => p.e.protocol),
          protocols: [...new Set(picked.map((p) => p.e.protocol))].sort(),
          best: false,
        };
        perImageByCell.set(
          `${key}\u0000${testSet}`,
          options.perImageMeans?.get(cellKey(protocol, key, testSet)) ?? perImageMean(picked.map((p) => p.e)),
        );
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
      // The paired test runs on per-image NME whatever metric is shown (AUC and FR summarise the same
      // errors): core's Wilcoxon signed-rank, since per-image NMEs are heavy-tailed.
      const test = a && b && a.length === b.length ? comparePaired(a, b, { alpha }) : null;
      best.vsNext =
        test && Number.isFinite(test.p)
          ? { rowKey: next.key, p: test.p, significance: test.significant ? "significant" : "not-significant", meanDiff: test.meanDiff }
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

/** One evaluation a significance test reads: which cell it belongs to, and which row of Evaluation. */
export interface SignificancePick {
  cell: string;
  runId: string;
  testSet: string;
  protocol: string;
}

/**
 * The evaluations whose per-image errors the significance tests need: in every column, those of the
 * best and the runner-up rows (ranked the way `buildStudyTables` ranks them), keyed by `cellKey`.
 */
export function significancePicks(tables: readonly StudyTable[]): SignificancePick[] {
  const out: SignificancePick[] = [];
  for (const t of tables)
    for (const { testSet } of t.columns) {
      const ranked = t.rows
        .filter((r) => r.cells[testSet] && Number.isFinite(r.cells[testSet]!.mean))
        .sort((a, b) => (t.lowerIsBetter ? 1 : -1) * (a.cells[testSet]!.mean - b.cells[testSet]!.mean));
      for (const row of ranked.slice(0, 2)) {
        const c = row.cells[testSet]!;
        c.runIds.forEach((runId, i) =>
          out.push({ cell: cellKey(t.protocol, row.key, testSet), runId, testSet, protocol: c.runProtocols[i] }),
        );
      }
    }
  return out;
}
