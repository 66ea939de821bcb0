"use client";
/**
 * One study table (one protocol): sortable, best per column in bold, † where not significant; reference
 * rows (published numbers, peers) apart below the runs. `ResultsShell` is its outline before the numbers.
 */
import type { StudyCell, StudyRow, StudyTable } from "@lml/api/format";
import { formatNumber, METRIC_LABELS } from "@lml/api/format";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";
import { useMemo, useState } from "react";

const col = createColumnHelper<StudyRow>();

function Cell({ c, table }: { c: StudyCell | null; table: StudyTable }) {
  // No run of the row was evaluated on this set (e.g. a dataset without a challenging split): nothing is put in its place.
  if (!c) return <span className="muted">no data</span>;
  const ns = c.vsNext?.significance === "not-significant";
  const untestable = c.vsNext?.significance === "untestable";
  const fallback = c.protocols.filter((p) => p !== table.protocol);
  return (
    <span data-mean={c.mean} data-n={c.n} data-best={c.best ? "1" : "0"}>
      <span className="v">{formatNumber(c.mean)}</span>
      {c.n > 1 && <span className="pm"> ± {formatNumber(c.std)}</span>}
      {ns && (
        <span
          className="ns"
          title={`Not significantly better than the next best (Wilcoxon signed-rank test over images, p = ${c.vsNext!.p!.toFixed(3)} ≥ ${table.alpha})`}
        >
          †
        </span>
      )}
      {untestable && (
        <span className="fb" title="Significance not testable: per-image errors missing or on different images">
          ?
        </span>
      )}
      {fallback.length > 0 && (
        <span className="fb" title={`From the ${fallback.join(", ")} evaluation (no mapping needed for this cell)`}>
          {fallback.map((p) => (p === "direct" ? "D" : p === "dense" ? "d" : p)).join(",")}
        </span>
      )}
      <span className="n">n={c.n}</span>
    </span>
  );
}

/** Reference rows (published, peers) under the runs' rows: italic, tagged, unranked, never bold. */
function ReferenceRows({ table }: { table: StudyTable }) {
  const refs = table.references ?? [];
  if (refs.length === 0) return null;
  return (
    <>
      <tr className="ref-head">
        <td colSpan={table.columns.length + 1}>References — not runs of this project: not ranked, not marked best, not tested</td>
      </tr>
      {refs.map((r) => (
        <tr key={r.key} className={`ref ${r.kind}`} data-reference={r.key} data-kind={r.kind}>
          <td className="model" title={`${r.source}${r.note ? ` — ${r.note}` : ""}`}>
            <span className={`ref-tag ${r.kind}`}>{r.kind}</span> {r.label}
            {r.note && <span className="fb"> *</span>}
          </td>
          {table.columns.map((c) => {
            const v = r.cells[c.testSet] ?? null;
            return (
              <td key={c.testSet} className="refcell" data-testset={c.testSet}>
                {v === null ? <span className="muted">–</span> : formatNumber(v)}
              </td>
            );
          })}
        </tr>
      ))}
    </>
  );
}

export function ResultsTable({ table, showReferences = true }: { table: StudyTable; showReferences?: boolean }) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const columns = useMemo(
    () => [
      col.accessor("label", { header: "Model", cell: (info) => info.getValue(), sortingFn: "alphanumeric" }),
      ...table.columns.map((c) =>
        col.accessor((r) => r.cells[c.testSet]?.mean, {
          id: c.testSet,
          header: c.label,
          sortUndefined: "last",
          // Best first whichever way the metric runs.
          sortDescFirst: !table.lowerIsBetter,
          cell: (info) => <Cell c={info.row.original.cells[c.testSet]} table={table} />,
        }),
      ),
    ],
    [table],
  );
  const t = useReactTable({
    data: table.rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  return (
    <div className="card flush" data-testid={`results-${table.protocol}`}>
      <div className="card-head">
        <div>
          <h2>{table.title}</h2>
          <div className="small muted">
            {METRIC_LABELS[table.metric]} · {table.norm} · {table.lowerIsBetter ? "lower is better" : "higher is better"}
          </div>
        </div>
        <span className="tag">{table.protocol}</span>
      </div>
      {table.rows.length === 0 ? (
        <div className="empty small">No evaluations under this protocol and normalisation yet.</div>
      ) : (
        <table className="data results">
          <thead>
            {t.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => (
                  <th
                    key={h.id}
                    className={`sortable ${h.id === "label" ? "" : "col"}`}
                    onClick={h.column.getToggleSortingHandler()}
                    aria-sort={h.column.getIsSorted() === "asc" ? "ascending" : h.column.getIsSorted() === "desc" ? "descending" : "none"}
                  >
                    {flexRender(h.column.columnDef.header, h.getContext())}
                    <span className="muted"> {h.column.getIsSorted() === "asc" ? "▲" : h.column.getIsSorted() === "desc" ? "▼" : ""}</span>
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody>
            {t.getRowModel().rows.map((r) => (
              <tr key={r.id} data-row={r.original.key}>
                {r.getVisibleCells().map((c) => {
                  const cell = c.column.id === "label" ? null : r.original.cells[c.column.id];
                  return (
                    <td
                      key={c.id}
                      className={c.column.id === "label" ? "model" : `cell ${cell?.best ? "best" : ""}`}
                      data-testset={c.column.id === "label" ? undefined : c.column.id}
                    >
                      {flexRender(c.column.columnDef.cell, c.getContext())}
                    </td>
                  );
                })}
              </tr>
            ))}
            {showReferences && <ReferenceRows table={table} />}
          </tbody>
        </table>
      )}
      <div className="foot">
        Mean ± std over seeds (n runs); <b>bold</b> = best per column; <span style={{ color: "var(--warn)", fontWeight: 700 }}>†</span> =
        best is not significantly better than the next best (Wilcoxon signed-rank test on per-image NME, α = {table.alpha}); d/D = cell
        taken from the dense/direct evaluation.
      </div>
    </div>
  );
}

/** The tables' outline before the numbers arrive: titles, columns and the grid's regimes, cells pending. */
export function ResultsShell({
  regimes,
  protocols,
  columns,
}: {
  regimes: string[];
  protocols: { protocol: string; title: string }[];
  columns: { testSet: string; label: string }[];
}) {
  return (
    <>
      {protocols.map((p) => (
        <div key={p.protocol} className="card flush" data-testid={`results-shell-${p.protocol}`} aria-busy="true">
          <div className="card-head">
            <div>
              <h2>{p.title}</h2>
              <div className="small muted">loading the numbers…</div>
            </div>
            <span className="tag">{p.protocol}</span>
          </div>
          <table className="data results">
            <thead>
              <tr>
                <th>Model</th>
                {columns.map((c) => (
                  <th key={c.testSet} className="col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {(regimes.length ? regimes : ["…"]).map((r) => (
                <tr key={r}>
                  <td className="model">{r}</td>
                  {columns.map((c) => (
                    <td key={c.testSet} className="pending-cell">
                      <div className="skeleton" style={{ width: 96, margin: "0 auto" }} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </>
  );
}
