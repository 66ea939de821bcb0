"use client";
/**
 * `/datasets/[name]`: one real dataset — its splits and counts (a missing challenging split reads "no
 * data": runs on it have no challenging evaluation), a contact sheet of a split with the 68 annotated
 * points drawn (framed by the one rule every domain uses), its provenance and terms (SOURCE.md), and the
 * realism statistics of the split beside the synthetic and simulated proxy-real domains (@lml/synth's
 * `domainStats`, as `lml synth stats` prints them).
 */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/trpc/client";
import { ErrorBox, Loading } from "./ui";

/** The fields of @lml/synth's DomainStats the page shows (the router passes them through as JSON). */
interface Summary {
  mean: number;
  sd: number;
  p5: number;
  p95: number;
}
interface DomainStatsView {
  domain: string;
  source: string;
  count: number;
  size: number;
  framing: { side: Summary; cx: Summary; cy: Summary };
  interPupil: Summary;
  colour: { mean: number[] };
  contrast: { rms: Summary };
  pose: { yaw: Summary; pitch: Summary; roll: Summary };
}

const f = (s: Summary, d = 3) => `${s.mean.toFixed(d)} ± ${s.sd.toFixed(d)}`;
const range = (s: Summary, d = 1) => `${s.p5.toFixed(d)} … ${s.p95.toFixed(d)}`;

const ROWS: { label: string; rule?: string; value: (s: DomainStatsView) => string }[] = [
  { label: "68-point box side / image", rule: "0.714", value: (s) => f(s.framing.side) },
  { label: "box centre x / image", rule: "0.5", value: (s) => f(s.framing.cx) },
  { label: "box centre y / image", rule: "0.5", value: (s) => f(s.framing.cy) },
  { label: "inter-pupil / image", value: (s) => f(s.interPupil) },
  { label: "colour mean (R G B)", value: (s) => s.colour.mean.map((v) => v.toFixed(3)).join(" ") },
  { label: "RMS contrast", value: (s) => f(s.contrast.rms) },
  { label: "yaw from landmarks (°), p5 … p95", value: (s) => `${f(s.pose.yaw, 1)} (${range(s.pose.yaw)})` },
  { label: "pitch (°)", value: (s) => f(s.pose.pitch, 1) },
  { label: "roll (°)", value: (s) => f(s.pose.roll, 1) },
];

export function DatasetPage({ name }: { name: string }) {
  const trpc = useTRPC();
  const d = useQuery(trpc.datasets.get.queryOptions({ name }));
  const [split, setSplit] = useState<"train" | "common" | "challenging">("train");
  const [seed, setSeed] = useState(1);
  const [showStats, setShowStats] = useState(false);
  const stats = useQuery({ ...trpc.datasets.stats.queryOptions({ name, split, count: 100 }), enabled: showStats });

  if (d.isPending)
    return (
      <div className="card">
        <Loading rows={5} />
      </div>
    );
  if (d.isError) return <ErrorBox error={d.error} what={`dataset ${name}`} back={{ href: "/datasets", label: "← All datasets" }} />;
  const ds = d.data;
  const has = (s: string) => ds.splits.some((x) => x.split === s);
  const views = stats.data
    ? ([
        ["this dataset", stats.data.dataset],
        ["synthetic", stats.data.synthetic],
        ["proxy-real (SIMULATED)", stats.data.proxyReal],
      ] as [string, DomainStatsView][])
    : [];

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/datasets">Datasets</Link> / {ds.name}
          </div>
          <h1>{ds.name}</h1>
          <div className="sub">
            <span className="mono small">{ds.dir}</span> · in a spec: <code>{`data.real: { source: 300w, dir: ${ds.specDir} }`}</code>
          </div>
        </div>
      </div>

      <div className="card">
        <div className="stats">
          {(["train", "common", "challenging"] as const).map((s) => {
            const sp = ds.splits.find((x) => x.split === s);
            return (
              <div className="stat" key={s}>
                <span className="k">
                  {s} {sp ? `(${sp.kind})` : ""}
                </span>
                <span className="v">{sp ? sp.count : <span className="muted">no data</span>}</span>
              </div>
            );
          })}
        </div>
        {!has("challenging") && (
          <p className="small muted" style={{ marginTop: 8 }}>
            No challenging split: runs on this dataset are not evaluated on a challenging set, and the study tables show that column as
            &ldquo;no data&rdquo;.
          </p>
        )}
        {ds.problem && <div className="error-box">{ds.problem}</div>}
      </div>

      <section className="stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Contact sheet</h2>
          <div className="grow" />
          <div className="seg">
            {ds.splits.map((s) => (
              <button key={s.split} className={split === s.split ? "on" : ""} onClick={() => setSplit(s.split)}>
                {s.split}
              </button>
            ))}
          </div>
          <button className="btn sm" onClick={() => setSeed((x) => x + 1)}>
            Other faces
          </button>
        </div>
        <div className="card">
          <p className="small muted">
            Faces framed by the one rule every domain uses (a square 1.4× the 68-point box, centred) with their 68 annotated points, read
            from the files on request (never stored).
          </p>
          {has(split) && (
            // eslint-disable-next-line @next/next/no-img-element
            <img
              src={`/api/datasets/${encodeURIComponent(ds.name)}/sheet?split=${split}&seed=${seed}`}
              alt={`${ds.name} ${split} contact sheet`}
              style={{ maxWidth: "100%" }}
              data-testid="dataset-sheet"
            />
          )}
        </div>
      </section>

      <section className="stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Realism statistics ({split}, 100 faces at 128²)</h2>
          <div className="grow" />
          {!showStats && (
            <button className="btn sm" onClick={() => setShowStats(true)}>
              Compute
            </button>
          )}
        </div>
        <div className="card flush">
          {!showStats ? (
            <div className="card-body small muted">
              The same measures for this split, the synthetic domain and the simulated proxy-real domain (a few seconds: faces are read and
              rendered).
            </div>
          ) : stats.isPending ? (
            <Loading rows={4} />
          ) : stats.isError ? (
            <div className="card-body">
              <ErrorBox error={stats.error} what="the statistics" />
            </div>
          ) : (
            <table className="data" data-testid="dataset-stats">
              <thead>
                <tr>
                  <th>Measure</th>
                  <th className="r">Rule</th>
                  {views.map(([label]) => (
                    <th key={label} className="r">
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {ROWS.map((r) => (
                  <tr key={r.label}>
                    <td>{r.label}</td>
                    <td className="r num muted">{r.rule ?? ""}</td>
                    {views.map(([label, s]) => (
                      <td key={label} className="r num">
                        {r.value(s)}
                      </td>
                    ))}
                  </tr>
                ))}
                <tr>
                  <td>faces</td>
                  <td />
                  {views.map(([label, s]) => (
                    <td key={label} className="r num">
                      {s.count}
                    </td>
                  ))}
                </tr>
              </tbody>
            </table>
          )}
        </div>
      </section>

      <section className="stack">
        <h2>Source and terms {ds.sourceFile ? <span className="muted small">({ds.sourceFile})</span> : null}</h2>
        <div className="card">
          {ds.sourceText ? (
            <pre className="config" style={{ whiteSpace: "pre-wrap" }}>
              {ds.sourceText}
            </pre>
          ) : (
            <p className="muted">
              No SOURCE.md or README.md in the folder: check the data&apos;s provenance and terms before publishing results on it.
            </p>
          )}
        </div>
      </section>
    </div>
  );
}
