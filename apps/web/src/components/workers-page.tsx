"use client";
/** `/workers`: trainer processes, their heartbeat and current run. */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState } from "react";
import { useTRPC } from "@/trpc/client";
import { ago, when } from "./format";
import { Empty, ErrorBox, Loading, Pager } from "./ui";

/** The server's clock now (its last answer's `now` plus the time since), ticking every `ms`. */
function useClock(ms: number, serverNow: Date | undefined): number {
  const [tick, setTick] = useState(() => ({ at: Date.now(), offset: 0 }));
  useEffect(() => {
    const offset = serverNow ? serverNow.getTime() - Date.now() : 0;
    setTick({ at: Date.now(), offset });
    const t = setInterval(() => setTick((x) => ({ ...x, at: Date.now() })), ms);
    return () => clearInterval(t);
  }, [ms, serverNow]);
  return tick.at + tick.offset;
}

export function WorkersPage() {
  const trpc = useTRPC();
  const [page, setPage] = useState(1);
  const [stopped, setStopped] = useState(false);
  // Live updates refetch it when a worker registers, beats or stops; a worker that falls silent changes
  // nothing in the database, so the page ages the heartbeats itself (a clock, no requests).
  const q = useQuery(trpc.workers.list.queryOptions({ page, pageSize: 25, includeStopped: stopped }));
  const now = useClock(5000, q.data?.now);
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Workers</h1>
          <div className="sub">
            Trainer processes claiming runs from the queue (<code>npm run lml -- work</code>).
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={stopped} onChange={(e) => setStopped(e.target.checked)} /> include stopped
        </label>
      </div>
      <div className="card flush">
        {q.isPending ? (
          <Loading />
        ) : q.isError ? (
          <div className="card-body">
            <ErrorBox error={q.error} what="workers" />
          </div>
        ) : q.data.items.length === 0 ? (
          <Empty title="No workers running">
            Start one with <code>npm run lml -- work</code>; queued runs wait until one claims them.
          </Empty>
        ) : (
          <>
            <table className="data">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th>State</th>
                  <th>Host / pid</th>
                  <th>Backend</th>
                  <th>Current run</th>
                  <th>Last heartbeat</th>
                  <th>Started</th>
                </tr>
              </thead>
              <tbody>
                {q.data.items.map((w) => {
                  const state = w.state === "alive" && now - w.lastHeartbeat.getTime() > q.data.staleAfterMs ? "lost" : w.state;
                  return (
                    <tr key={w.id}>
                      <td className="mono">{w.id}</td>
                      <td>
                        <span className={`badge ${state}`}>
                          <span className="dot" />
                          {state}
                        </span>
                      </td>
                      <td className="small">
                        {w.host} · {w.pid ?? "—"}
                      </td>
                      <td className="small">{w.backend ?? "—"}</td>
                      <td>
                        {w.currentRun ? (
                          <Link href={`/runs/${w.currentRun.id}`}>{w.currentRun.name}</Link>
                        ) : (
                          <span className="muted">idle</span>
                        )}{" "}
                        {w.currentRun && <span className="small muted">{Math.round(w.currentRun.progress * 100)}%</span>}
                      </td>
                      <td className="small">{ago(w.lastHeartbeat)}</td>
                      <td className="small muted">{when(w.startedAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <Pager page={page} pageSize={25} total={q.data.total} onPage={setPage} />
          </>
        )}
      </div>
    </div>
  );
}
