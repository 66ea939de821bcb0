"use client";
/** Paginated runs (of a grid or all), with status filter, config columns and a pick-to-compare. */
import { differingParams, flattenConfig } from "@lml/api/format";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { useTRPC } from "@/trpc/client";
import { duration, shortId, when } from "./format";
import { isActiveStatus, isRequeueableStatus, RUN_STATUSES, type RunStatusName } from "@lml/core/study";
import { Empty, ErrorBox, Loading, Pager, StatusBadge } from "./ui";

const PAGE = 25;
type SortField = "createdAt" | "name" | "status" | "regime" | "seed" | "progress";

export function RunsTable({ gridId, live }: { gridId?: string; live?: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<RunStatusName[]>([]);
  const [sort, setSort] = useState<{ field: SortField; dir: "asc" | "desc" }>({ field: "createdAt", dir: gridId ? "asc" : "desc" });
  const [params, setParams] = useState<"differing" | "all" | "none">("differing");
  const [picked, setPicked] = useState<string[]>([]);
  const q = useQuery({
    ...trpc.runs.list.queryOptions({
      gridId,
      page,
      pageSize: PAGE,
      status: status.length ? status : undefined,
      sort: sort.field,
      dir: sort.dir,
    }),
    placeholderData: (prev) => prev,
    refetchInterval: (query) => (live || query.state.data?.items.some((r) => isActiveStatus(r.status)) ? 2000 : false),
  });
  const invalidate = () => qc.invalidateQueries();
  const cancel = useMutation(trpc.runs.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.runs.requeue.mutationOptions({ onSuccess: invalidate }));

  const items = useMemo(() => q.data?.items ?? [], [q.data]);
  const columns = useMemo(() => {
    if (params === "none" || items.length === 0) return [] as string[];
    if (params === "all") return Object.keys(flattenConfig(items[0].config)).filter((p) => p !== "regime" && p !== "seed");
    return differingParams(items.map((r) => r.config))
      .map((p) => p.path)
      .filter((p) => p !== "regime" && p !== "seed");
  }, [items, params]);

  function header(field: SortField, label: string) {
    const on = sort.field === field;
    return (
      <th className="sortable" onClick={() => setSort({ field, dir: on && sort.dir === "asc" ? "desc" : "asc" })}>
        {label} <span className="muted">{on ? (sort.dir === "asc" ? "▲" : "▼") : ""}</span>
      </th>
    );
  }

  return (
    <div className="card flush">
      <div className="toolbar">
        <div className="group">
          <span>Status</span>
          <div className="seg">
            {RUN_STATUSES.map((s) => (
              <button
                key={s}
                className={status.includes(s) ? "on" : ""}
                onClick={() => {
                  setPage(1);
                  setStatus((x) => (x.includes(s) ? x.filter((y) => y !== s) : [...x, s]));
                }}
              >
                {s.toLowerCase()}
              </button>
            ))}
          </div>
        </div>
        <div className="group">
          <span>Config params</span>
          <div className="seg">
            {(["differing", "all", "none"] as const).map((p) => (
              <button key={p} className={params === p ? "on" : ""} onClick={() => setParams(p)} data-testid={`params-${p}`}>
                {p === "differing" ? "only differing" : p}
              </button>
            ))}
          </div>
        </div>
        <div className="grow" />
        <button className="btn primary sm" disabled={picked.length < 2} onClick={() => router.push(`/compare?ids=${picked.join(",")}`)}>
          Compare {picked.length || ""} selected
        </button>
      </div>
      {(cancel.error || requeue.error) && (
        <div className="card-body">
          <ErrorBox error={cancel.error ?? requeue.error} what="the change" />
        </div>
      )}
      {q.isPending ? (
        <Loading rows={6} />
      ) : q.isError ? (
        <div className="card-body">
          <ErrorBox error={q.error} what="runs" />
        </div>
      ) : items.length === 0 ? (
        <Empty title={status.length ? "No run with that status" : "No runs"}>
          {status.length ? "Clear the status filter." : "Submit a grid to queue runs."}
        </Empty>
      ) : (
        <div style={{ overflowX: "auto" }}>
          <table className="data" data-testid="runs-table">
            <thead>
              <tr>
                <th style={{ width: 28 }} />
                {header("name", "Run")}
                {header("regime", "Regime")}
                {header("seed", "Seed")}
                {header("status", "Status")}
                {header("progress", "Progress")}
                {columns.map((c) => (
                  <th key={c} className="mono" style={{ fontWeight: 500 }}>
                    {c}
                  </th>
                ))}
                <th>Duration</th>
                {header("createdAt", "Created")}
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((r) => {
                const flat = flattenConfig(r.config);
                const end = r.finishedAt ?? (r.startedAt ? new Date() : null);
                return (
                  <tr key={r.id} data-run={r.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`pick ${r.name}`}
                        checked={picked.includes(r.id)}
                        onChange={(e) => setPicked((p) => (e.target.checked ? [...p, r.id].slice(-8) : p.filter((x) => x !== r.id)))}
                      />
                    </td>
                    <td>
                      <Link href={`/runs/${r.id}`} style={{ fontWeight: 550 }}>
                        {r.name}
                      </Link>
                      <div className="small muted mono">{shortId(r.id)}</div>
                    </td>
                    <td>
                      <span className="tag">{r.regime}</span>
                    </td>
                    <td className="num">{r.seed}</td>
                    <td>
                      <StatusBadge status={r.status} />
                      {r.error && (
                        <div
                          className="small"
                          style={{ color: "var(--bad)", maxWidth: 260, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}
                          title={r.error}
                        >
                          {r.error}
                        </div>
                      )}
                    </td>
                    <td className="num small">
                      {Math.round(r.progress * 100)}%
                      {r.totalSteps ? (
                        <span className="muted">
                          {" "}
                          · {r.step}/{r.totalSteps}
                        </span>
                      ) : null}
                    </td>
                    {columns.map((c) => (
                      <td key={c} className="mono small">
                        {flat[c] === undefined ? "—" : String(typeof flat[c] === "object" ? JSON.stringify(flat[c]) : flat[c])}
                      </td>
                    ))}
                    <td className="num small">{r.startedAt && end ? duration(end.getTime() - r.startedAt.getTime()) : "—"}</td>
                    <td className="small muted">{when(r.createdAt)}</td>
                    <td className="r">
                      {isActiveStatus(r.status) && (
                        <button className="btn sm danger" onClick={() => cancel.mutate({ id: r.id })}>
                          Cancel
                        </button>
                      )}
                      {isRequeueableStatus(r.status) && (
                        <button className="btn sm" onClick={() => requeue.mutate({ id: r.id })}>
                          Re-queue
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {q.data && q.data.total > 0 && <Pager page={page} pageSize={PAGE} total={q.data.total} onPage={setPage} />}
    </div>
  );
}
