"use client";
/**
 * Live updates for every page: one server-sent-event stream (`live.changes`) per tab. Each event names
 * the runs and grids that changed; the queries showing them are invalidated, so the visible ones
 * refetch once and the others do when next shown. Nothing polls. After a reconnect (server restart,
 * network) the server says `resync` and everything shown is refetched.
 */
import type { LiveEvent } from "@lml/api";
import { useQueryClient, type Query, type QueryKey } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from "react";
import { useTRPC } from "@/trpc/client";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline";

const LiveContext = createContext<{ status: LiveStatus; events: number }>({ status: "connecting", events: 0 });

/** Whether the page is receiving live updates, and how many change events arrived (tests read both). */
export function useLive() {
  return useContext(LiveContext);
}

type Input = Record<string, unknown> | undefined;
const inputOf = (q: Query): Input => (q.queryKey[1] as { input?: Input } | undefined)?.input;
const some = (xs: unknown, set: Set<string>) => Array.isArray(xs) && xs.some((x) => set.has(String(x)));

/** How often marked queries are refetched at most (events can come every few hundred ms while runs train). */
const FLUSH_MS = 100;

export function LiveUpdates({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [state, setState] = useState<{ status: LiveStatus; events: number }>({ status: "connecting", events: 0 });
  // Queries a change made stale, refetched on the next flush. One still fetching is left for a later
  // flush (its answer may predate the change): cancelling it instead would starve a slow query while
  // changes keep coming.
  const stale = useRef(new Map<string, Query>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const flush = useCallback(() => {
    timer.current = null;
    for (const [hash, query] of stale.current) {
      if (query.state.fetchStatus === "fetching") continue;
      stale.current.delete(hash);
      void qc.invalidateQueries({ queryKey: query.queryKey, exact: true });
    }
    if (stale.current.size > 0) timer.current = setTimeout(flush, FLUSH_MS);
  }, [qc]);

  const apply = useCallback(
    (e: LiveEvent) => {
      const mark = (queryKey: QueryKey, predicate?: (input: Input) => boolean) => {
        for (const q of qc.getQueryCache().findAll({ queryKey, predicate: predicate && ((q) => predicate(inputOf(q))) }))
          stale.current.set(q.queryHash, q);
      };
      if (e.resync) {
        stale.current.clear();
        return void qc.invalidateQueries();
      }
      if (e.kind === "ready") return;
      if (e.workers) mark(trpc.workers.pathKey());
      if (e.gridList) mark(trpc.grids.list.pathKey());
      if (e.runs === null || e.grids === null) {
        // Many runs changed at once: whatever shows runs may be stale.
        for (const key of [trpc.runs.pathKey(), trpc.grids.pathKey(), trpc.evaluations.pathKey()]) mark(key);
      } else if (e.runs.length > 0 || e.grids.length > 0) {
        const runs = new Set(e.runs);
        const grids = new Set(e.grids);
        mark(trpc.grids.list.pathKey());
        mark(trpc.grids.get.pathKey(), (i) => grids.has(String(i?.id)));
        mark(trpc.runs.list.pathKey(), (i) => !i?.gridId || grids.has(String(i.gridId)));
        mark(trpc.runs.get.pathKey(), (i) => runs.has(String(i?.id)));
        mark(trpc.runs.metrics.pathKey(), (i) => some(i?.ids, runs));
        mark(trpc.runs.compare.pathKey(), (i) => some(i?.ids, runs));
        // Tables answer from the server's cache while the runs they read stay the same: cheap to ask.
        mark(trpc.evaluations.studyTables.pathKey(), (i) => (i?.gridId ? grids.has(String(i.gridId)) : some(i?.runIds, runs)));
        mark(trpc.evaluations.byRun.pathKey(), (i) => runs.has(String(i?.runId)));
        mark(trpc.evaluations.landmarks.pathKey(), (i) => runs.has(String(i?.runId)));
      }
      if (stale.current.size > 0 && !timer.current) timer.current = setTimeout(flush, 0);
    },
    [qc, trpc, flush],
  );

  const sub = useSubscription(
    trpc.live.changes.subscriptionOptions(undefined, {
      onData: (tracked) => {
        const e = tracked.data;
        apply(e);
        setState((s) => ({
          status: e.kind === "ready" ? (e.live ? "live" : "offline") : e.resync ? "live" : s.status,
          events: s.events + (e.kind === "change" ? 1 : 0),
        }));
      },
    }),
  );
  // The stream's own state wins while it is not connected.
  const status: LiveStatus =
    sub.status === "connecting"
      ? state.status === "connecting"
        ? "connecting"
        : "reconnecting"
      : sub.status === "error"
        ? "offline"
        : state.status;
  return <LiveContext.Provider value={{ status, events: state.events }}>{children}</LiveContext.Provider>;
}

const LABELS: Record<LiveStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Live updates off",
};

/** A dot and a word: whether what the page shows follows the database. */
export function LiveBadge() {
  const { status, events } = useLive();
  return (
    <span
      className={`live-badge ${status}`}
      data-testid="live-status"
      data-state={status}
      data-events={events}
      title="Pages update by server-sent events when runs change; nothing polls."
    >
      <span className="dot" aria-hidden /> {LABELS[status]}
    </span>
  );
}
