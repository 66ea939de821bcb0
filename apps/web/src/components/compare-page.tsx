"use client";
/** `/compare?ids=a,b,…`: overlaid curves, side-by-side CED, difference heatmap A − B, config diff. */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useMemo, useState } from "react";
import { bestProtocol, DEFAULT_NORM, protocolFallback, type NormKind } from "@lml/core/study";
import { useTRPC } from "@/trpc/client";
import { CedChart, MetricCharts } from "./charts";
import { SERIES } from "./color";
import { num } from "./format";
import { Heatmap } from "./heatmap";
import { RunsTable } from "./runs-table";
import { Empty, ErrorBox, Loading, StatusBadge } from "./ui";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function ComparePage() {
  const search = useSearchParams();
  const ids = (search.get("ids") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !UUID.test(id));
  if (ids.length < 2 || bad.length)
    return (
      <div className="stack">
        <div className="page-head">
          <div>
            <h1>Compare runs</h1>
            <div className="sub">Pick two or more runs below (tick them, then “Compare selected”).</div>
          </div>
        </div>
        {bad.length > 0 && <div className="error-box">Not run ids: {bad.join(", ")}</div>}
        <RunsTable />
      </div>
    );
  return <Comparison ids={ids} />;
}

function Comparison({ ids }: { ids: string[] }) {
  const trpc = useTRPC();
  const router = useRouter();
  const q = useQuery(trpc.runs.compare.queryOptions({ ids }));
  const [showAll, setShowAll] = useState(false);
  const [sel, setSel] = useState<{ testSet?: string; protocol?: string; norm?: string }>({});
  const [ab, setAb] = useState<[number, number]>([0, 1]);

  const keys = useMemo(() => {
    const all = q.data?.runs.flatMap((r) => r.evaluations) ?? [];
    return {
      testSets: [...new Set(all.map((e) => e.testSet))],
      protocols: [...new Set(all.map((e) => e.protocol))],
      norms: [...new Set(all.map((e) => e.norm))],
    };
  }, [q.data]);

  if (q.isPending)
    return (
      <div className="card">
        <Loading rows={6} />
      </div>
    );
  if (q.isError) return <ErrorBox error={q.error} what="the comparison" />;
  const { runs, diff } = q.data;
  // Short labels for legends; the strip at the top gives each letter's full run name.
  const labels = Object.fromEntries(runs.map((r, i) => [r.id, `${String.fromCharCode(65 + i)} · ${r.regime} · seed ${r.seed}`]));
  const norm = sel.norm ?? (keys.norms.includes(DEFAULT_NORM) ? DEFAULT_NORM : keys.norms[0]);
  const protocol = sel.protocol ?? bestProtocol(keys.protocols) ?? ""; // "" matches no evaluation, as before a run has any
  const testSet = sel.testSet ?? (keys.testSets.includes("common") ? "common" : keys.testSets[0]);
  const allPaths = showAll ? flatRows(runs.map((r) => r.config)) : diff;

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/compare">Compare</Link> / {runs.length} runs
          </div>
          <h1>Compare {runs.length} runs</h1>
        </div>
        <button className="btn" onClick={() => router.push("/compare")}>
          Pick other runs
        </button>
      </div>
      <div className="card">
        <div className="row" style={{ gap: 18 }}>
          {runs.map((r, i) => (
            <div key={r.id} className="row" style={{ gap: 6 }}>
              <span className="dot" style={{ background: SERIES[i % SERIES.length], width: 10, height: 10 }} />
              <b>{String.fromCharCode(65 + i)}</b>
              <Link href={`/runs/${r.id}`}>{r.name}</Link>
              <span className="tag">{r.regime}</span>
              <StatusBadge status={r.status} />
            </div>
          ))}
        </div>
      </div>

      <section className="stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Config diff</h2>
          <div className="grow" />
          <label className="check">
            <input type="checkbox" checked={!showAll} onChange={(e) => setShowAll(!e.target.checked)} /> show only differing params
          </label>
        </div>
        <div className="card flush">
          {allPaths.length === 0 ? (
            <Empty title="Same config">These runs differ in nothing but their id.</Empty>
          ) : (
            <table className="data diff" data-testid="config-diff">
              <thead>
                <tr>
                  <th>Field</th>
                  {runs.map((r, i) => (
                    <th key={r.id}>{String.fromCharCode(65 + i)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {allPaths.map((d) => {
                  const differs = new Set(d.values).size > 1;
                  return (
                    <tr key={d.path}>
                      <td className="mono">{d.path}</td>
                      {d.values.map((v, i) => (
                        <td key={i} className={`mono ${differs ? "differs" : ""}`}>
                          {v}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      </section>

      <section className="stack">
        <h2>Training curves</h2>
        <MetricCharts runIds={ids} labels={labels} />
      </section>

      <section className="stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Evaluations</h2>
          <div className="grow" />
          <select value={protocol} onChange={(e) => setSel((s) => ({ ...s, protocol: e.target.value }))} aria-label="Protocol">
            {keys.protocols.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          <select value={norm} onChange={(e) => setSel((s) => ({ ...s, norm: e.target.value }))} aria-label="Normalisation">
            {keys.norms.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
        {keys.testSets.length === 0 ? (
          <div className="card">
            <Empty title="None of these runs has evaluations" icon="chart" />
          </div>
        ) : (
          <>
            <div className="card flush">
              <table className="data">
                <thead>
                  <tr>
                    <th>Run</th>
                    {keys.testSets.map((t) => (
                      <th key={t} className="r">
                        {t} NME
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {runs.map((r) => (
                    <tr key={r.id}>
                      <td>{labels[r.id]}</td>
                      {keys.testSets.map((t) => {
                        const e = pick(r.evaluations, t, protocol, norm);
                        return (
                          <td key={t} className="r num">
                            {num(e?.nme)}
                            {e && e.protocol !== protocol && (
                              <span className="small muted" title={`from the ${e.protocol} evaluation`}>
                                {" "}
                                ({e.protocol})
                              </span>
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="grid-3">
              {keys.testSets.map((t) => (
                <div className="card" key={t}>
                  <div className="chart-title">
                    <h3 style={{ margin: 0 }}>CED · {t}</h3>
                    <span className="small muted">{protocol}</span>
                  </div>
                  <CedChart
                    series={runs.flatMap((r) => {
                      const e = pick(r.evaluations, t, protocol, norm);
                      return e && e.cedX.length ? [{ key: r.id, label: labels[r.id], x: e.cedX, y: e.cedY }] : [];
                    })}
                  />
                </div>
              ))}
            </div>
          </>
        )}
      </section>

      <section className="stack">
        <h2 style={{ margin: 0 }}>Difference heatmap</h2>
        <div className="row">
          <select value={ab[0]} onChange={(e) => setAb([Number(e.target.value), ab[1]])} aria-label="Run A">
            {runs.map((r, i) => (
              <option key={r.id} value={i}>
                A = {labels[r.id]}
              </option>
            ))}
          </select>
          <select value={ab[1]} onChange={(e) => setAb([ab[0], Number(e.target.value)])} aria-label="Run B">
            {runs.map((r, i) => (
              <option key={r.id} value={i}>
                B = {labels[r.id]}
              </option>
            ))}
          </select>
          <select value={testSet} onChange={(e) => setSel((s) => ({ ...s, testSet: e.target.value }))} aria-label="Test set">
            {keys.testSets.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
        <DiffHeatmap
          a={runs[ab[0]].id}
          b={runs[ab[1]].id}
          k={{ testSet, protocol: pick(runs[ab[0]].evaluations, testSet, protocol, norm)?.protocol ?? protocol, norm: norm as NormKind }}
        />
      </section>
    </div>
  );
}

type EvalLike = { testSet: string; protocol: string; norm: string };
/** The tables' fallback (core's protocolFallback): a 68-point model's "direct", the synthetic set's "dense". */
function pick<E extends EvalLike>(evals: E[], testSet: string, protocol: string, norm: string): E | undefined {
  for (const p of protocolFallback(protocol, testSet)) {
    const e = evals.find((x) => x.testSet === testSet && x.protocol === p && x.norm === norm);
    if (e) return e;
  }
  return undefined;
}

function flatRows(configs: unknown[]) {
  const flat = configs.map((c) => flatten(c));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return paths.map((path) => ({
    path,
    values: flat.map((f) => (f[path] === undefined ? "—" : typeof f[path] === "string" ? (f[path] as string) : JSON.stringify(f[path]))),
  }));
}
function flatten(obj: unknown, prefix = "", out: Record<string, unknown> = {}) {
  if (obj !== null && typeof obj === "object" && !Array.isArray(obj))
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else if (prefix) out[prefix] = obj;
  return out;
}

function DiffHeatmap({ a, b, k }: { a: string; b: string; k: { testSet: string; protocol: string; norm: NormKind } }) {
  const trpc = useTRPC();
  const qa = useQuery({ ...trpc.evaluations.landmarks.queryOptions({ runId: a, ...k }), retry: false });
  const qb = useQuery({ ...trpc.evaluations.landmarks.queryOptions({ runId: b, ...k }), retry: false });
  if (a === b)
    return (
      <div className="card">
        <Empty title="Pick two different runs for A and B" icon="face" />
      </div>
    );
  if (qa.isPending || qb.isPending)
    return (
      <div className="card">
        <Loading rows={4} />
      </div>
    );
  if (qa.isError || qb.isError)
    return (
      <div className="card">
        <ErrorBox error={qa.error ?? qb.error} what="per-landmark errors" />
      </div>
    );
  if (qa.data.values.length !== qb.data.values.length)
    return (
      <div className="card">
        <Empty title="Different landmark schemes" icon="face">
          A has {qa.data.values.length} points, B has {qb.data.values.length}: pick a protocol that maps both to 68 points.
        </Empty>
      </div>
    );
  if (!qa.data.scheme)
    return (
      <div className="card">
        <Empty title={`No face template with ${qa.data.values.length} points`} icon="face" />
      </div>
    );
  const diff = qa.data.values.map((v, i) => v - qb.data.values[i]);
  return (
    <div className="grid-2">
      <div className="card">
        <div className="chart-title">
          <h3 style={{ margin: 0 }}>
            A − B · {k.testSet} · {k.protocol}
          </h3>
          <span className="small muted num">
            NME {qa.data.nme.toFixed(3)} vs {qb.data.nme.toFixed(3)}
          </span>
        </div>
        <Heatmap scheme={qa.data.scheme} values={diff} mode="diff" label="difference heatmap A − B" />
      </div>
      <div className="card">
        <h3>Largest differences</h3>
        <table className="data">
          <thead>
            <tr>
              <th>#</th>
              <th>Point</th>
              <th className="r">A</th>
              <th className="r">B</th>
              <th className="r">A − B</th>
            </tr>
          </thead>
          <tbody>
            {diff
              .map((d, i) => ({ d, i }))
              .sort((x, y) => Math.abs(y.d) - Math.abs(x.d))
              .slice(0, 10)
              .map(({ d, i }) => (
                <tr key={i}>
                  <td className="num">{i}</td>
                  <td className="small">{qa.data.scheme!.names?.[i] ?? qa.data.scheme!.groups[i]}</td>
                  <td className="r num">{num(qa.data.values[i])}</td>
                  <td className="r num">{num(qb.data.values[i])}</td>
                  <td className="r num" style={{ color: d < 0 ? "#2166ac" : "#b2182b", fontWeight: 600 }}>
                    {d > 0 ? "+" : ""}
                    {num(d)}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
