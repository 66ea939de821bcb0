"use client";
/**
 * The study tables of a grid with their switches (norm, metric, group, filter, reference rows) and
 * exports. The tables' outline shows at once; the numbers stream in (the page's server component
 * starts the default query, whose answer arrives in the same response) and update when runs change.
 */
import type { ExportFormat, Metric, Norm } from "@lml/api/tables";
import { PROTOCOL_LABELS, REGIME_LABELS, TABLE_PROTOCOLS, TEST_SET_LABELS, TEST_SETS } from "@lml/api/format";
import { EVAL_NORMS, NORM_KINDS } from "@lml/core/study";
import { useQuery, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { Component, Suspense, useDeferredValue, useMemo, useState, type ReactNode } from "react";
import { useTRPC } from "@/trpc/client";
import { DEFAULT_RESULTS_VIEW, resultsInput } from "./results-input";
import { ResultsShell, ResultsTable } from "./results-table";
import { Empty, ErrorBox } from "./ui";

type Base = "nme" | "auc" | "fr";
type Input = ReturnType<typeof resultsInput>;

const SHELL_PROTOCOLS = TABLE_PROTOCOLS.map((protocol) => ({ protocol, title: PROTOCOL_LABELS[protocol] ?? protocol }));
const SHELL_COLUMNS = TEST_SETS.map((testSet) => ({ testSet, label: TEST_SET_LABELS[testSet] ?? testSet }));

/** Shows a failed query's error with a retry instead of the tables (React needs a class for this). */
class ResultsErrorBoundary extends Component<{ children: ReactNode; onRetry: () => void }, { error: unknown }> {
  state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  render() {
    if (this.state.error == null) return this.props.children;
    return (
      <div className="stack">
        <ErrorBox error={this.state.error} what="the results" />
        <div>
          <button
            className="btn sm"
            onClick={() => {
              this.props.onRetry();
              this.setState({ error: null });
            }}
          >
            Try again
          </button>
        </div>
      </div>
    );
  }
}

function Tables({ input, live, showReferences }: { input: Input; live: boolean; showReferences: boolean }) {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.evaluations.studyTables.queryOptions(input));
  if (data.evaluationCount === 0)
    return (
      <div className="card">
        <Empty title="No results yet" icon="chart">
          {live
            ? "Runs are still training; tables fill in as runs succeed and write evaluations."
            : `No succeeded run of this grid has ${input.norm} evaluations.`}
        </Empty>
      </div>
    );
  return (
    <>
      {data.referenceError && <ErrorBox error={new Error(data.referenceError)} what="the peer reference rows" />}
      {data.tables.map((t) => (
        <ResultsTable key={t.protocol} table={t} showReferences={showReferences} />
      ))}
    </>
  );
}

export function ResultsPanel({ gridId, live, regimes }: { gridId: string; live: boolean; regimes: string[] }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [norm, setNorm] = useState<Norm>(DEFAULT_RESULTS_VIEW.norm);
  const [base, setBase] = useState<Base>("nme");
  const [threshold, setThreshold] = useState<8 | 10>(8);
  const [groupBy, setGroupBy] = useState<string[]>([]);
  const [filter, setFilter] = useState<Record<string, string>>({});
  const [showReferences, setShowReferences] = useState(true);
  const [exportError, setExportError] = useState<unknown>(null);
  const metric = (base === "nme" ? "nme" : `${base}${threshold}`) as Metric;
  const input = useMemo(() => resultsInput(gridId, { norm, metric, groupBy, filter }), [gridId, norm, metric, groupBy, filter]);
  // A changed switch keeps the current tables on screen until the new ones are in.
  const shown = useDeferredValue(input);
  const q = useQuery(trpc.evaluations.studyTables.queryOptions(shown));

  async function download(format: ExportFormat) {
    setExportError(null);
    try {
      const table = { ...input, reference: showReferences };
      const file = await qc.fetchQuery(trpc.evaluations.export.queryOptions({ format, table }));
      const url = URL.createObjectURL(new Blob([file.content], { type: file.mime }));
      const a = document.createElement("a");
      a.href = url;
      a.download = file.filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setExportError(err);
    }
  }

  const params = q.data?.params ?? [];
  const norms: readonly Norm[] = q.data?.norms.length ? NORM_KINDS.filter((n) => q.data!.norms.includes(n)) : EVAL_NORMS;
  const updating = q.isFetching || shown !== input;
  return (
    <div className="stack">
      <div className="card flush">
        <div className="toolbar">
          <div className="group">
            <span>Normalisation</span>
            <div className="seg" role="radiogroup" aria-label="Normalisation">
              {(norms.length ? norms : EVAL_NORMS).map((n) => (
                <button key={n} role="radio" aria-checked={norm === n} className={norm === n ? "on" : ""} onClick={() => setNorm(n)}>
                  {n}
                </button>
              ))}
            </div>
          </div>
          <div className="group">
            <span>Metric</span>
            <div className="seg" role="radiogroup" aria-label="Metric">
              {(["nme", "auc", "fr"] as const).map((m) => (
                <button key={m} role="radio" aria-checked={base === m} className={base === m ? "on" : ""} onClick={() => setBase(m)}>
                  {m.toUpperCase()}
                </button>
              ))}
            </div>
          </div>
          {base !== "nme" && (
            <div className="group">
              <span>Threshold</span>
              <div className="seg">
                {([8, 10] as const).map((t) => (
                  <button key={t} className={threshold === t ? "on" : ""} onClick={() => setThreshold(t)}>
                    {t}%
                  </button>
                ))}
              </div>
            </div>
          )}
          <div className="group">
            <span>Group rows by</span>
            <select
              aria-label="Group rows by"
              value=""
              onChange={(e) => e.target.value && setGroupBy((g) => [...g, e.target.value].slice(0, 4))}
              disabled={params.length === 0}
            >
              <option value="">{params.length ? "+ config field…" : "no field varies"}</option>
              {params
                .filter((p) => p.path !== "regime" && !groupBy.includes(p.path))
                .map((p) => (
                  <option key={p.path} value={p.path}>
                    {p.path} ({p.values.length} values)
                  </option>
                ))}
            </select>
          </div>
          <div className="group">
            <span>Filter</span>
            <select
              aria-label="Add a filter"
              value=""
              onChange={(e) => {
                const [path, value] = JSON.parse(e.target.value) as [string, string];
                setFilter((f) => ({ ...f, [path]: value }));
              }}
              disabled={params.length === 0}
            >
              <option value="">{params.length ? "+ field = value…" : "nothing to filter"}</option>
              {params
                .filter((p) => !(p.path in filter))
                .map((p) => (
                  <optgroup key={p.path} label={p.path}>
                    {p.values.map((v) => (
                      <option key={v} value={JSON.stringify([p.path, v])}>
                        {p.path} = {v}
                      </option>
                    ))}
                  </optgroup>
                ))}
            </select>
          </div>
          <div className="group">
            <span>Reference rows</span>
            <label className="row small" style={{ gap: 4 }}>
              <input
                type="checkbox"
                checked={showReferences}
                onChange={(e) => setShowReferences(e.target.checked)}
                data-testid="toggle-references"
              />
              published &amp; peers
            </label>
          </div>
          <div className="grow" />
          <div className="group">
            <span>Export</span>
            <div className="row" style={{ gap: 6 }}>
              <button className="btn sm" onClick={() => download("csv")} data-testid="export-csv">
                CSV
              </button>
              <button className="btn sm" onClick={() => download("md")}>
                Markdown
              </button>
              <button className="btn sm" onClick={() => download("latex")}>
                LaTeX
              </button>
            </div>
          </div>
        </div>
        {(groupBy.length > 0 || Object.keys(filter).length > 0) && (
          <div className="row" style={{ padding: "8px 16px", gap: 6 }}>
            {groupBy.map((g) => (
              <button
                key={g}
                className="tag"
                style={{ border: 0, cursor: "pointer" }}
                onClick={() => setGroupBy((x) => x.filter((y) => y !== g))}
                title="Remove"
              >
                group: {g} ×
              </button>
            ))}
            {Object.entries(filter).map(([k, v]) => (
              <button
                key={k}
                className="tag"
                style={{ border: 0, cursor: "pointer" }}
                onClick={() => setFilter(({ [k]: _, ...rest }) => rest)}
                title="Remove"
              >
                {k} = {v} ×
              </button>
            ))}
          </div>
        )}
        {q.data && (
          <div className="small muted" style={{ padding: "8px 16px" }} data-testid="results-summary">
            {q.data.runCount} succeeded run{q.data.runCount === 1 ? "" : "s"} · {q.data.evaluationCount} evaluations under {shown.norm}
            {updating && " · updating…"}
          </div>
        )}
      </div>
      {exportError != null && <ErrorBox error={exportError} what="the export" />}
      <ResultsErrorBoundary onRetry={() => void qc.resetQueries({ queryKey: trpc.evaluations.studyTables.queryKey(shown) })}>
        <Suspense
          fallback={
            <ResultsShell regimes={regimes.map((r) => REGIME_LABELS[r] ?? r)} protocols={SHELL_PROTOCOLS} columns={SHELL_COLUMNS} />
          }
        >
          <Tables input={shown} live={live} showReferences={showReferences} />
        </Suspense>
      </ResultsErrorBoundary>
    </div>
  );
}
