"use client";
/**
 * Runs (of a grid or all) with status filter, sorting, config columns and a pick-to-compare. A long
 * list is virtualised (TanStack Virtual): only the rows in view are in the page, fetched a window of
 * PAGE rows at a time as they scroll into view; live updates refetch the windows shown.
 */
import { differingParams, flattenConfig } from "@lml/api/format";
import { keepPreviousData, useMutation, useQueries, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useRef, useState } from "react";
import { useTRPC, type Outputs } from "@/trpc/client";
import { duration, shortId, when } from "./format";
import { isActiveStatus, isRequeueableStatus, RUN_STATUSES, type RunStatusName } from "@lml/core/study";
import { Empty, ErrorBox, Loading, StatusBadge } from "./ui";

/** Rows per request (the API's largest page is 200). */
const PAGE = 100;
const ROW_HEIGHT = 49;
type SortField = "createdAt" | "name" | "status" | "regime" | "seed" | "progress";
type RunItem = Outputs["runs"]["list"]["items"][number];

export function RunsTable({ gridId }: { gridId?: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<RunStatusName[]>([]);
  const [sort, setSort] = useState<{ field: SortField; dir: "asc" | "desc" }>({ field: "createdAt", dir: gridId ? "asc" : "desc" });
  const [params, setParams] = useState<"differing" | "all" | "none">("differing");
  const [picked, setPicked] = useState<string[]>([]);
  const [pagesInView, setPagesInView] = useState<number[]>([0]);
  const listInput = (page: number) => ({
    gridId,
    page: page + 1,
    pageSize: PAGE,
    status: status.length ? status : undefined,
    sort: sort.field,
    dir: sort.dir,
  });
  // The first window always (it carries the total), then whichever windows the visible rows fall in.
  const pages = useQueries({
    queries: [...new Set([0, ...pagesInView])].map((page) => ({
      ...trpc.runs.list.queryOptions(listInput(page)),
      placeholderData: page === 0 ? keepPreviousData : undefined,
    })),
  });
  const first = pages[0];
  const total = first.data?.total ?? 0;
  const rows = useMemo(() => {
    const byIndex = new Map<number, RunItem>();
    for (const p of pages) p.data?.items.forEach((r, i) => byIndex.set((p.data!.page - 1) * PAGE + i, r));
    return byIndex;
  }, [pages]);

  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    onChange: (v) => {
      const wanted = [...new Set(v.getVirtualItems().map((item) => Math.floor(item.index / PAGE)))].sort((a, b) => a - b);
      setPagesInView((was) => (was.join() === wanted.join() ? was : wanted));
    },
  });
  const invalidate = () => qc.invalidateQueries();
  const cancel = useMutation(trpc.runs.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.runs.requeue.mutationOptions({ onSuccess: invalidate }));

  // Config columns from the rows fetched so far (the first window at least), so they do not jump.
  const loaded = useMemo(() => [...rows.values()], [rows]);
  const columns = useMemo(() => {
    if (params === "none" || loaded.length === 0) return [] as string[];
    if (params === "all") return Object.keys(flattenConfig(loaded[0].config)).filter((p) => p !== "regime" && p !== "seed");
    return differingParams(loaded.map((r) => r.config))
      .map((p) => p.path)
      .filter((p) => p !== "regime" && p !== "seed");
  }, [loaded, params]);
  const restart = () => {
    setPagesInView([0]);
    scrollRef.current?.scrollTo({ top: 0 });
  };

  function header(field: SortField, label: string) {
    const on = sort.field === field;
    return (
      <th
        className="sortable"
        onClick={() => {
          restart();
          setSort({ field, dir: on && sort.dir === "asc" ? "desc" : "asc" });
        }}
      >
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
                  restart();
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
      {first.isPending ? (
        <Loading rows={6} />
      ) : first.isError ? (
        <div className="card-body">
          <ErrorBox error={first.error} what="runs" />
        </div>
      ) : total === 0 ? (
        <Empty title={status.length ? "No run with that status" : "No runs"}>
          {status.length ? "Clear the status filter." : "Submit a grid to queue runs."}
        </Empty>
      ) : (
        <div ref={scrollRef} className="runs-scroll" data-testid="runs-scroll">
          <table className="data" data-testid="runs-table" data-total={total}>
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
              {virtualizer.getVirtualItems()[0]?.start > 0 && <tr aria-hidden style={{ height: virtualizer.getVirtualItems()[0].start }} />}
              {virtualizer.getVirtualItems().map((item) => {
                const r = rows.get(item.index);
                if (!r)
                  return (
                    <tr key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="pending-row">
                      <td colSpan={columns.length + 9}>
                        <div className="skeleton" style={{ width: "40%" }} />
                      </td>
                    </tr>
                  );
                const flat = flattenConfig(r.config);
                const end = r.finishedAt ?? (r.startedAt ? new Date() : null);
                return (
                  <tr key={item.key} data-index={item.index} ref={virtualizer.measureElement} data-run={r.id}>
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
              {(() => {
                const items = virtualizer.getVirtualItems();
                const rest = items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
                return rest > 0 ? <tr aria-hidden style={{ height: rest }} /> : null;
              })()}
            </tbody>
          </table>
        </div>
      )}
      {total > 0 && (
        <div className="pager">
          <span className="num" data-testid="runs-total">
            {total} run{total === 1 ? "" : "s"}
          </span>
        </div>
      )}
    </div>
  );
}
