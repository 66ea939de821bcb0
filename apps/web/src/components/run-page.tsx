"use client";
/** `/runs/[id]`: config, status, live curves, evaluations, CED per test set, heatmaps, samples. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { DEFAULT_NORM, SPLIT_LABELS, isActiveStatus, isRequeueableStatus, isValidationSet } from "@lml/core/study";
import { useTRPC } from "@/trpc/client";
import { CedChart, MetricCharts } from "./charts";
import { duration, num, when } from "./format";
import { LandmarkPanel } from "./landmark-panel";
import { Empty, ErrorBox, Loading, StatusBadge } from "./ui";

export function RunPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  // Live updates (server-sent events) refetch it, and its curves, when the run changes.
  const run = useQuery(trpc.runs.get.queryOptions({ id }));
  const [norm, setNorm] = useState<string | null>(null);
  const invalidate = () => qc.invalidateQueries();
  const cancel = useMutation(trpc.runs.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.runs.requeue.mutationOptions({ onSuccess: invalidate }));

  if (run.isPending)
    return (
      <div className="card">
        <Loading rows={6} />
      </div>
    );
  if (run.isError) return <ErrorBox error={run.error} what={`run ${id}`} back={{ href: "/runs", label: "← All runs" }} />;
  const r = run.data;
  const live = isActiveStatus(r.status);
  const norms = [...new Set(r.evaluations.map((e) => e.norm))];
  const shownNorm = norm ?? (norms.includes(DEFAULT_NORM) ? DEFAULT_NORM : norms[0]);
  // Test sets first, then the validation sets (model selection and tuning read those alone).
  const evals = r.evaluations
    .filter((e) => e.norm === shownNorm)
    .sort((a, b) => Number(isValidationSet(a.testSet)) - Number(isValidationSet(b.testSet)));
  const protocols = [...new Set(evals.map((e) => e.protocol))];
  const samples = r.artifacts.filter((a) => a.kind === "samples" || (a.mime ?? "").startsWith("image/"));
  const attemptErrors = Array.isArray(r.attemptErrors)
    ? (r.attemptErrors as { attempt?: number; worker?: string; error?: string; at?: string }[])
    : [];
  const end = r.finishedAt ?? (r.startedAt ? new Date() : null);

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/">Grids</Link> / {r.grid ? <Link href={`/grids/${r.grid.id}`}>{r.grid.name}</Link> : "standalone"} / run
          </div>
          <h1>
            {r.name} <StatusBadge status={r.status} />
          </h1>
          <div className="sub">
            <span className="tag">{r.regime}</span> seed {r.seed} · <span className="mono small">{r.id}</span>
          </div>
        </div>
        <div className="row">
          {live && (
            <button className="btn danger" onClick={() => cancel.mutate({ id })} disabled={cancel.isPending || r.cancelRequested}>
              {r.cancelRequested ? "Cancel requested" : "Cancel run"}
            </button>
          )}
          {isRequeueableStatus(r.status) && (
            <button className="btn" onClick={() => requeue.mutate({ id })}>
              Re-queue
            </button>
          )}
        </div>
      </div>
      {(cancel.error || requeue.error) && <ErrorBox error={cancel.error ?? requeue.error} what="the change" />}

      <div className="card">
        <div className="stats">
          <div className="stat">
            <span className="k">Progress</span>
            <span className="v">{Math.round(r.progress * 100)}%</span>
          </div>
          <div className="stat">
            <span className="k">Step</span>
            <span className="v">
              {r.step}
              {r.totalSteps ? ` / ${r.totalSteps}` : ""}
            </span>
          </div>
          <div className="stat">
            <span className="k">Duration</span>
            <span className="v">{r.startedAt && end ? duration(end.getTime() - r.startedAt.getTime()) : "—"}</span>
          </div>
          <div className="stat">
            <span className="k">Attempts</span>
            <span className="v">
              {r.attempts} / {r.maxAttempts}
            </span>
          </div>
          <div className="stat">
            <span className="k">Backend</span>
            <span className="v" style={{ fontSize: 15 }}>
              {r.backend ?? "—"}
            </span>
          </div>
          <div className="stat">
            <span className="k">Worker</span>
            <span className="v mono" style={{ fontSize: 13 }}>
              {r.leaseOwner ?? "—"}
            </span>
          </div>
          <div className="stat">
            <span className="k">Started</span>
            <span className="v" style={{ fontSize: 13 }}>
              {when(r.startedAt)}
            </span>
          </div>
          <div className="stat">
            <span className="k">Code</span>
            <span className="v mono" style={{ fontSize: 13 }}>
              {r.codeVersion?.slice(0, 10) ?? "—"}
            </span>
          </div>
        </div>
      </div>
      {r.error && (
        <div className="error-box">
          <strong>Error:</strong> {r.error}
          {attemptErrors.length > 0 && (
            <ul className="small" style={{ margin: "6px 0 0", paddingLeft: 18 }}>
              {attemptErrors.map((a, i) => (
                <li key={i}>
                  attempt {a.attempt ?? i + 1} on {a.worker ?? "?"} ({a.at ? when(a.at) : "?"}): {a.error}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}

      <section className="stack">
        <h2>Training curves</h2>
        <MetricCharts runIds={[id]} labels={{ [id]: r.name }} />
      </section>

      <section className="stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Evaluations</h2>
          <div className="grow" />
          {norms.length > 1 && (
            <div className="seg">
              {norms.map((n) => (
                <button key={n} className={shownNorm === n ? "on" : ""} onClick={() => setNorm(n)}>
                  {n}
                </button>
              ))}
            </div>
          )}
        </div>
        {r.evaluations.length === 0 ? (
          <div className="card">
            <Empty title={live ? "Not evaluated yet" : "No evaluations stored"} icon="chart">
              {live ? "Evaluations are written when training ends." : "This run wrote no evaluation."}
            </Empty>
          </div>
        ) : (
          <>
            <div className="card flush">
              <table className="data" data-testid="run-evaluations">
                <thead>
                  <tr>
                    <th>Test set</th>
                    <th>Protocol</th>
                    <th className="r">NME</th>
                    <th className="r">AUC@8</th>
                    <th className="r">FR@8</th>
                    <th className="r">AUC@10</th>
                    <th className="r">FR@10</th>
                    <th className="r">Images</th>
                  </tr>
                </thead>
                <tbody>
                  {evals.map((e) => (
                    <tr key={e.id}>
                      <td title={e.testSet}>
                        {SPLIT_LABELS[e.testSet] ?? e.testSet} {isValidationSet(e.testSet) && <span className="tag">validation</span>}
                      </td>
                      <td>
                        <span className="tag">{e.protocol}</span>
                      </td>
                      <td className="r num" style={{ fontWeight: 600 }}>
                        {num(e.nme)}
                      </td>
                      <td className="r num">{num(e.auc8)}</td>
                      <td className="r num">{num(e.fr8)}</td>
                      <td className="r num">{num(e.auc10)}</td>
                      <td className="r num">{num(e.fr10)}</td>
                      <td className="r num">{e.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h3 style={{ marginTop: 4 }}>CED per test set ({shownNorm})</h3>
            <div className="grid-3">
              {protocols.map((p) => (
                <div className="card" key={p}>
                  <div className="chart-title">
                    <h3 style={{ margin: 0 }}>{p}</h3>
                  </div>
                  <CedChart
                    series={evals
                      .filter((e) => e.protocol === p && e.cedX.length)
                      .map((e) => ({ key: e.testSet, label: e.testSet, x: e.cedX, y: e.cedY }))}
                  />
                </div>
              ))}
            </div>
          </>
        )}
      </section>

      <section className="stack">
        <h2>Where the model errs</h2>
        <LandmarkPanel runId={id} evaluations={r.evaluations} />
      </section>

      <section className="stack">
        <h2>Sample predictions</h2>
        <div className="card">
          {samples.length === 0 ? (
            <Empty title="No sample images stored" icon="face">
              A run stores a strip of predictions drawn on its first test images of each test set when it finishes.
            </Empty>
          ) : (
            <>
              <p className="muted">
                <span style={{ color: "#00e05a" }}>●</span> ground truth · <span style={{ color: "#ff1f4b" }}>●</span> prediction (synthetic
                test: the model&apos;s own points; real sets: the 68 points of the protocol named in the file)
              </p>
              <div className="strip">
                {samples.map((a) => (
                  <figure key={a.id}>
                    {/* eslint-disable-next-line @next/next/no-img-element */}
                    <img src={`/api/artifacts/${a.id}`} alt={a.name} loading="lazy" />
                    <figcaption>
                      {a.name}
                      {a.step != null ? ` · step ${a.step}` : ""}
                    </figcaption>
                  </figure>
                ))}
              </div>
            </>
          )}
        </div>
      </section>

      <section className="stack">
        <h2>Config</h2>
        <div className="card">
          <pre className="config">{JSON.stringify(r.config, null, 2)}</pre>
        </div>
      </section>
    </div>
  );
}
