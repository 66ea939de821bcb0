"use client";
/** `/grids/[id]`: the study tables of one grid, its runs and its spec; live updates refetch what changed. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/trpc/client";
import { duration, when } from "./format";
import { ResultsPanel } from "./results-panel";
import { RunsTable } from "./runs-table";
import { ACTIVE_STATUSES, RUN_STATUSES } from "@lml/core/study";
import { ErrorBox, Loading, ProgressBar, StatusBadge } from "./ui";

type Tab = "results" | "runs" | "spec";

export function GridPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [tab, setTab] = useState<Tab>("results");
  const grid = useQuery(trpc.grids.get.queryOptions({ id }));
  const invalidate = () => qc.invalidateQueries();
  const cancel = useMutation(trpc.grids.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.grids.requeueFailed.mutationOptions({ onSuccess: invalidate }));

  if (grid.isPending)
    return (
      <div className="card">
        <Loading rows={5} />
      </div>
    );
  if (grid.isError) return <ErrorBox error={grid.error} what={`grid ${id}`} back={{ href: "/", label: "← All grids" }} />;
  const g = grid.data;
  const active = ACTIVE_STATUSES.some((s) => g.counts[s] > 0);
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/">Grids</Link> / {g.name}
          </div>
          <h1>{g.name}</h1>
          <div className="sub">
            {g.total} runs · created {when(g.createdAt)} · {g.regimes.length} regime{g.regimes.length === 1 ? "" : "s"}
          </div>
        </div>
        <div className="row">
          {active && (
            <button className="btn danger" disabled={cancel.isPending} onClick={() => cancel.mutate({ id })}>
              Cancel grid
            </button>
          )}
          {g.counts.FAILED > 0 && (
            <button className="btn" disabled={requeue.isPending} onClick={() => requeue.mutate({ id })}>
              Re-queue {g.counts.FAILED} failed
            </button>
          )}
        </div>
      </div>
      {(cancel.error || requeue.error) && <ErrorBox error={cancel.error ?? requeue.error} what="the change" />}
      <div className="card">
        <div className="row" style={{ gap: 28 }}>
          <div className="counts" data-testid="grid-counts">
            {RUN_STATUSES.map((s) => (
              <StatusBadge key={s} status={s} count={g.counts[s]} />
            ))}
          </div>
          <div className="grow" style={{ maxWidth: 360 }}>
            <ProgressBar counts={g.counts} total={g.total} progress={g.progress} />
          </div>
          <div className="stat">
            <span className="k">Done</span>
            <span className="v">{Math.round(g.progress * 100)}%</span>
          </div>
          <div className="stat">
            <span className="k">Elapsed</span>
            <span className="v">{duration(g.elapsedMs)}</span>
          </div>
          <div className="stat">
            <span className="k">ETA</span>
            <span className="v">{active ? (g.etaMs != null ? duration(g.etaMs) : "…") : "—"}</span>
          </div>
        </div>
      </div>
      <div className="tabs" role="tablist">
        {(["results", "runs", "spec"] as const).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? "on" : ""} onClick={() => setTab(t)}>
            {t === "results" ? "Results" : t === "runs" ? `Runs (${g.total})` : "Spec"}
          </button>
        ))}
      </div>
      {tab === "results" && <ResultsPanel gridId={id} live={active} regimes={g.regimes} />}
      {tab === "runs" && <RunsTable gridId={id} />}
      {tab === "spec" && (
        <div className="card">
          <h2>Spec as submitted</h2>
          <pre className="config">{g.specText ?? JSON.stringify(g.spec, null, 2)}</pre>
        </div>
      )}
    </div>
  );
}
