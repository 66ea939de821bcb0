"use client";
/** Training curves (one small chart per metric, runs overlaid) and CED curves, on recharts. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { DEFAULT_NORM, NORM_KINDS } from "@lml/core/study";
import { useTRPC } from "@/trpc/client";
import { SERIES } from "./color";
import { Empty, ErrorBox, Loading } from "./ui";

/**
 * Panels of curves. Evaluation curves are logged per test set, protocol and norm
 * ("eval/common/test-time-mlp/inter-pupil/nme"): for one run they share a panel per norm and metric
 * (one line per test set and protocol); for several runs each gets its own panel (one line per run),
 * for the chosen norm only, so that the page stays readable.
 */
const NORM_ALTERNATIVES = NORM_KINDS.join("|");
/** "<eval|val>/<test set>/<protocol>/<norm>/<metric>" → its parts. */
const EVAL_CURVE = new RegExp(`^(eval|val)/(.+)/(${NORM_ALTERNATIVES})/([^/]+)$`);
const NORM_SEGMENT = new RegExp(`/(${NORM_ALTERNATIVES})/`);

function panelsOf(names: string[], runs: number, norm: string) {
  const panels = new Map<string, { title: string; series: { name: string; label: string }[] }>();
  for (const name of names) {
    const m = EVAL_CURVE.exec(name);
    if (m && runs > 1 && m[3] !== norm) continue;
    const key = m && runs === 1 ? `${m[1]}/${m[3]}/${m[4]}` : name;
    const title = m && runs === 1 ? `${m[1]} ${m[4]} · ${m[3]}` : name;
    const panel = panels.get(key) ?? { title, series: [] };
    panel.series.push({ name, label: m && runs === 1 ? m[2] : name });
    panels.set(key, panel);
  }
  return [...panels.entries()].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Curves of `runIds` (they follow the runs through live updates). */
export function MetricCharts({ runIds, labels }: { runIds: string[]; labels: Record<string, string> }) {
  const trpc = useTRPC();
  const [norm, setNorm] = useState<string>(DEFAULT_NORM);
  // Appending points touches their run, so live updates refetch the curves as they grow.
  const q = useQuery(trpc.runs.metrics.queryOptions({ ids: runIds, maxPoints: 600 }));
  if (q.isPending)
    return (
      <div className="card">
        <Loading rows={4} />
      </div>
    );
  if (q.isError) return <ErrorBox error={q.error} what="training curves" />;
  if (q.data.length === 0)
    return (
      <div className="card">
        <Empty title="No training curves yet" icon="chart">
          Curves appear as soon as the worker logs its first steps.
        </Empty>
      </div>
    );
  const names = [...new Set(q.data.map((s) => s.name))];
  const norms = [...new Set(names.map((n) => NORM_SEGMENT.exec(n)?.[1]).filter((x): x is string => !!x))];
  const panels = panelsOf(names, runIds.length, norm);
  return (
    <div className="stack">
      {runIds.length > 1 && norms.length > 1 && (
        <div className="row">
          <span className="small muted">Evaluation curves for</span>
          <div className="seg">
            {norms.map((n) => (
              <button key={n} className={norm === n ? "on" : ""} onClick={() => setNorm(n)}>
                {n}
              </button>
            ))}
          </div>
        </div>
      )}
      <div className="grid-2">
        {panels.map(([key, panel]) => {
          // Lines: (run, series) pairs, keyed so that recharts can merge them by step.
          const lines = runIds.flatMap((runId) =>
            panel.series.map((s) => ({
              key: `${runId}|${s.name}`,
              runId,
              label: runIds.length > 1 ? (labels[runId] ?? runId.slice(0, 8)) : s.label,
              name: s.name,
            })),
          );
          const byStep = new Map<number, Record<string, number>>();
          let maxLen = 0;
          for (const l of lines) {
            const series = q.data.find((x) => x.runId === l.runId && x.name === l.name);
            if (!series) continue;
            maxLen = Math.max(maxLen, series.points.length);
            for (const p of series.points) {
              const row = byStep.get(p.step) ?? { step: p.step };
              row[l.key] = p.value;
              byStep.set(p.step, row);
            }
          }
          const data = [...byStep.values()].sort((a, b) => a.step - b.step);
          const last =
            runIds.length === 1 && panel.series.length === 1
              ? q.data.find((x) => x.name === panel.series[0].name)?.points.at(-1)?.value
              : undefined;
          return (
            <div className="card" key={key} data-testid={`curve-${key}`}>
              <div className="chart-title">
                <h3 style={{ margin: 0 }}>{panel.title}</h3>
                {last !== undefined && <span className="small muted num">last {last.toPrecision(4)}</span>}
              </div>
              <ResponsiveContainer width="100%" height={200}>
                <LineChart data={data} margin={{ top: 4, right: 12, bottom: 0, left: -8 }}>
                  <CartesianGrid stroke="#eef0f3" />
                  <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} tick={{ fontSize: 11 }} allowDecimals={false} />
                  <YAxis
                    tick={{ fontSize: 11 }}
                    domain={["auto", "auto"]}
                    scale={/loss/.test(key) && data.length > 2 ? "log" : "auto"}
                    allowDataOverflow
                    width={56}
                    tickFormatter={(v: number) =>
                      Math.abs(v) >= 100 ? v.toFixed(0) : v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : v.toPrecision(3)
                    }
                  />
                  <Tooltip
                    contentStyle={{ fontSize: 12 }}
                    labelFormatter={(s) => `step ${s}`}
                    formatter={(v) => (typeof v === "number" ? v.toPrecision(4) : String(v))}
                  />
                  {lines.length > 1 && <Legend verticalAlign="top" wrapperStyle={{ fontSize: 11, paddingBottom: 4 }} />}
                  {lines.map((l, i) => (
                    <Line
                      key={l.key}
                      type="monotone"
                      dataKey={l.key}
                      name={l.label}
                      stroke={SERIES[i % SERIES.length]}
                      dot={maxLen <= 12}
                      strokeWidth={1.6}
                      connectNulls
                      isAnimationActive={false}
                    />
                  ))}
                </LineChart>
              </ResponsiveContainer>
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** Loss first, then validation metrics, then the rest. */
function rank(name: string): number {
  return /^(train\/)?loss$/.test(name) ? 0 : /loss/.test(name) ? 1 : /nme/i.test(name) ? 2 : 3;
}

export interface CedSeries {
  key: string;
  label: string;
  x: number[];
  y: number[];
}

/** Cumulative error distribution: fraction of images with NME ≤ threshold. */
export function CedChart({ series, height = 220 }: { series: CedSeries[]; height?: number }) {
  if (series.length === 0) return <Empty title="No CED curve" icon="chart" />;
  const byX = new Map<number, Record<string, number>>();
  for (const s of series)
    s.x.forEach((x, i) => {
      const row = byX.get(x) ?? { x };
      row[s.key] = s.y[i];
      byX.set(x, row);
    });
  const data = [...byX.values()].sort((a, b) => a.x - b.x);
  return (
    <ResponsiveContainer width="100%" height={height}>
      <LineChart data={data} margin={{ top: 4, right: 12, bottom: 12, left: -8 }}>
        <CartesianGrid stroke="#eef0f3" />
        <XAxis
          dataKey="x"
          type="number"
          domain={[0, "dataMax"]}
          tick={{ fontSize: 11 }}
          label={{ value: "NME threshold (%)", position: "insideBottom", offset: -6, fontSize: 11 }}
        />
        <YAxis domain={[0, 1]} tick={{ fontSize: 11 }} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
        <Tooltip
          contentStyle={{ fontSize: 12 }}
          labelFormatter={(x) => `NME ≤ ${Number(x).toFixed(2)}`}
          formatter={(v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : String(v))}
        />
        <Legend verticalAlign="top" wrapperStyle={{ fontSize: 11, paddingBottom: 4 }} />
        {series.map((s, i) => (
          <Line
            key={s.key}
            type="stepAfter"
            dataKey={s.key}
            name={s.label}
            stroke={SERIES[i % SERIES.length]}
            dot={false}
            strokeWidth={1.6}
            connectNulls
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}
