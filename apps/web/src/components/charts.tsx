"use client";
/** Training curves (one small chart per metric, runs overlaid) and CED curves, on recharts. */
import { useQuery } from "@tanstack/react-query";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useTRPC } from "@/trpc/client";
import { SERIES } from "./color";
import { Empty, ErrorBox, Loading } from "./ui";

/** Curves of `runIds`, one chart per metric name; polls while `live`. */
export function MetricCharts({ runIds, labels, live }: { runIds: string[]; labels: Record<string, string>; live?: boolean }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.runs.metrics.queryOptions({ ids: runIds, maxPoints: 600 }), refetchInterval: live ? 3000 : false });
  if (q.isPending) return <div className="card"><Loading rows={4} /></div>;
  if (q.isError) return <ErrorBox error={q.error} what="training curves" />;
  if (q.data.length === 0)
    return (
      <div className="card">
        <Empty title="No training curves yet" icon="chart">Curves appear as soon as the worker logs its first steps.</Empty>
      </div>
    );
  const names = [...new Set(q.data.map((s) => s.name))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return (
    <div className="grid-2">
      {names.map((name) => {
        const byStep = new Map<number, Record<string, number>>();
        for (const s of q.data.filter((x) => x.name === name))
          for (const p of s.points) {
            const row = byStep.get(p.step) ?? { step: p.step };
            row[s.runId] = p.value;
            byStep.set(p.step, row);
          }
        const data = [...byStep.values()].sort((a, b) => a.step - b.step);
        const last = q.data.filter((x) => x.name === name).map((s) => s.points[s.points.length - 1]?.value);
        return (
          <div className="card" key={name} data-testid={`curve-${name}`}>
            <div className="chart-title">
              <h3 style={{ margin: 0 }}>{name}</h3>
              {runIds.length === 1 && <span className="small muted num">last {last[0]?.toPrecision(4)}</span>}
            </div>
            <ResponsiveContainer width="100%" height={200}>
              <LineChart data={data} margin={{ top: 4, right: 12, bottom: 0, left: -8 }}>
                <CartesianGrid stroke="#eef0f3" />
                <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} tick={{ fontSize: 11 }} />
                <YAxis tick={{ fontSize: 11 }} domain={["auto", "auto"]} scale={/loss/.test(name) ? "log" : "auto"} allowDataOverflow />
                <Tooltip contentStyle={{ fontSize: 12 }} labelFormatter={(s) => `step ${s}`} formatter={(v) => (typeof v === "number" ? v.toPrecision(4) : String(v))} />
                {runIds.length > 1 && <Legend verticalAlign="top" wrapperStyle={{ fontSize: 11, paddingBottom: 4 }} />}
                {runIds.map((id, i) => (
                  <Line key={id} type="monotone" dataKey={id} name={labels[id] ?? id.slice(0, 8)} stroke={SERIES[i % SERIES.length]} dot={false} strokeWidth={1.6} connectNulls isAnimationActive={false} />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
        );
      })}
    </div>
  );
}

/** Loss first, then validation metrics, then the rest. */
function rank(name: string): number {
  return /^loss$/.test(name) ? 0 : /loss/.test(name) ? 1 : /nme/i.test(name) ? 2 : 3;
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
        <XAxis dataKey="x" type="number" domain={[0, "dataMax"]} tick={{ fontSize: 11 }} label={{ value: "NME threshold (%)", position: "insideBottom", offset: -6, fontSize: 11 }} />
        <YAxis domain={[0, 1]} tick={{ fontSize: 11 }} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
        <Tooltip contentStyle={{ fontSize: 12 }} labelFormatter={(x) => `NME ≤ ${Number(x).toFixed(2)}`} formatter={(v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : String(v))} />
        <Legend verticalAlign="top" wrapperStyle={{ fontSize: 11, paddingBottom: 4 }} />
        {series.map((s, i) => (
          <Line key={s.key} type="stepAfter" dataKey={s.key} name={s.label} stroke={SERIES[i % SERIES.length]} dot={false} strokeWidth={1.6} connectNulls isAnimationActive={false} />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}
