"use client";
/** `/workers`: trainer processes, their heartbeat and current run. */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/trpc/client";
import { ago, when } from "./format";
import { Empty, ErrorBox, Loading, Pager } from "./ui";

export function WorkersPage() {
  const trpc = useTRPC();
  const [page, setPage] = useState(1);
  const [stopped, setStopped] = useState(false);
  const q = useQuery({ ...trpc.workers.list.queryOptions({ page, pageSize: 25, includeStopped: stopped }), refetchInterval: 5000 });
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
                {q.data.items.map((w) => (
                  <tr key={w.id}>
                    <td className="mono">{w.id}</td>
                    <td>
                      <span className={`badge ${w.state}`}>
                        <span className="dot" />
                        {w.state}
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
                ))}
              </tbody>
            </table>
            <Pager page={page} pageSize={25} total={q.data.total} onPage={setPage} />
          </>
        )}
      </div>
    </div>
  );
}
