"use client";
/** `/`: every grid with its runs by status, progress, elapsed time and ETA, polled while runs train. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/trpc/client";
import { duration, when } from "./format";
import { ACTIVE_STATUSES, RUN_STATUSES } from "@lml/core/study";
import { Empty, ErrorBox, Loading, Pager, ProgressBar, StatusBadge } from "./ui";

export function GridsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState("");
  // Live updates (server-sent events) refetch it when runs or grids change.
  const list = useQuery(trpc.grids.list.queryOptions({ page, pageSize: 20, search: search || undefined }));
  const invalidate = () => qc.invalidateQueries({ queryKey: trpc.grids.list.queryKey() });
  const cancel = useMutation(trpc.grids.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.grids.requeueFailed.mutationOptions({ onSuccess: invalidate }));
  const mutationError = cancel.error ?? requeue.error;

  const totals = list.data?.statusTotals;

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Grids</h1>
          <div className="sub">Ablation grids queued on the database; each cell is one run (regime × config × seed).</div>
        </div>
        <div className="row">
          <input
            placeholder="Filter by name…"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setPage(1);
            }}
            aria-label="Filter grids by name"
          />
          <Link className="btn primary" href="/grids/new">
            + New grid
          </Link>
        </div>
      </div>
      {totals && list.data!.total > 0 && (
        <div className="card">
          <div className="stats">
            <div className="stat">
              <span className="k">Grids</span>
              <span className="v">{list.data!.total}</span>
            </div>
            {RUN_STATUSES.map((s) => (
              <div className="stat" key={s}>
                <span className="k">{s.toLowerCase()} runs</span>
                <span className="v">{totals[s]}</span>
              </div>
            ))}
          </div>
        </div>
      )}
      {mutationError && <ErrorBox error={mutationError} what="the change" />}
      <div className="card flush">
        {list.isPending ? (
          <Loading rows={4} />
        ) : list.isError ? (
          <div className="card-body">
            <ErrorBox error={list.error} what="grids" />
          </div>
        ) : list.data.items.length === 0 ? (
          <Empty title={search ? `No grid matches “${search}”` : "No grids yet"}>
            {search ? (
              "Try another name."
            ) : (
              <>
                Queue one from <Link href="/grids/new">New grid</Link> or with <code>npm run lml -- grid submit grid.yaml</code>.
              </>
            )}
          </Empty>
        ) : (
          <>
            <table className="data" data-testid="grids-table">
              <thead>
                <tr>
                  <th>Grid</th>
                  <th>Runs</th>
                  <th style={{ width: 200 }}>Progress</th>
                  <th className="r">Elapsed</th>
                  <th className="r">ETA</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((g) => {
                  const active = ACTIVE_STATUSES.some((s) => g.counts[s] > 0);
                  return (
                    <tr key={g.id} data-grid={g.id}>
                      <td>
                        <Link href={`/grids/${g.id}`} style={{ fontWeight: 600 }}>
                          {g.name}
                        </Link>
                        <div className="small muted mono">
                          {g.id.slice(0, 8)} · {g.total} runs
                        </div>
                      </td>
                      <td>
                        <div className="counts">
                          {RUN_STATUSES.filter((s) => g.counts[s] > 0).map((s) => (
                            <StatusBadge key={s} status={s} count={g.counts[s]} />
                          ))}
                        </div>
                      </td>
                      <td>
                        <ProgressBar counts={g.counts} total={g.total} progress={g.progress} />
                        <div className="small muted num" style={{ marginTop: 3 }}>
                          {Math.round(g.progress * 100)}% done
                        </div>
                      </td>
                      <td className="r num">{duration(g.elapsedMs)}</td>
                      <td className="r num">{active ? (g.etaMs != null ? duration(g.etaMs) : "estimating…") : "—"}</td>
                      <td className="small muted">{when(g.createdAt)}</td>
                      <td className="r">
                        <div className="row" style={{ justifyContent: "flex-end", gap: 6 }}>
                          {active && (
                            <button
                              className="btn sm danger"
                              disabled={cancel.isPending}
                              onClick={() => confirm(`Cancel the unfinished runs of “${g.name}”?`) && cancel.mutate({ id: g.id })}
                            >
                              Cancel
                            </button>
                          )}
                          {g.counts.FAILED > 0 && (
                            <button className="btn sm" disabled={requeue.isPending} onClick={() => requeue.mutate({ id: g.id })}>
                              Re-queue {g.counts.FAILED} failed
                            </button>
                          )}
                          <Link className="btn sm" href={`/grids/${g.id}`}>
                            Results
                          </Link>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <Pager page={page} pageSize={20} total={list.data.total} onPage={setPage} />
          </>
        )}
      </div>
    </div>
  );
}
