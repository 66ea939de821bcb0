"use client";
/**
 * `/grids/new`: a form that writes a grid spec, and the spec's YAML editable by hand. Validation and the
 * run preview come from the server's `grids.preview`, i.e. the very parser `lml grid submit` uses.
 */
import { REGIME_TRAITS, REGIMES } from "@lml/core/study";
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import YAML from "yaml";
import { useTRPC } from "@/trpc/client";
import { ErrorBox } from "./ui";

interface FormState {
  name: string;
  description: string;
  regimes: string[];
  seeds: string;
  scheme: number;
  epochs: number;
  batchSize: number;
  lrs: string;
  inputSize: number;
  stacks: number;
  channels: number;
  syntheticTrain: number;
  syntheticTest: number;
  realTrain: number;
  realCommon: number;
  realChallenging: number;
  /** "proxy-real" (simulated, the offline default) or the `data.real.dir` of a known real dataset. */
  realDir: string;
}

const PROXY = "proxy-real";

const INITIAL: FormState = {
  name: `study-${new Date().toISOString().slice(0, 10)}`,
  description: "",
  regimes: REGIMES.slice(0, 3),
  seeds: "1, 2, 3",
  scheme: 490,
  epochs: 10,
  batchSize: 16,
  lrs: "0.001",
  inputSize: 64,
  stacks: 2,
  channels: 64,
  syntheticTrain: 2000,
  syntheticTest: 200,
  realTrain: 500,
  realCommon: 200,
  realChallenging: 100,
  realDir: PROXY,
};

/** Comma list → numbers; anything unparseable is kept as text so the server names the bad value. */
function list(text: string): unknown[] {
  return text
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));
}

function toYaml(f: FormState): string {
  const lrs = list(f.lrs);
  const parameters: Record<string, unknown> = { regime: f.regimes, seed: list(f.seeds) };
  if (lrs.length > 1) parameters["train.lr"] = lrs;
  const spec = {
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    method: "grid",
    parameters,
    defaults: {
      model: { inputSize: f.inputSize, stacks: f.stacks, channels: f.channels },
      data: {
        scheme: f.scheme,
        syntheticTrain: f.syntheticTrain,
        syntheticTest: f.syntheticTest,
        realTrain: f.realTrain,
        realCommon: f.realCommon,
        realChallenging: f.realChallenging,
        real: f.realDir === PROXY ? { source: PROXY } : { source: "300w", dir: f.realDir },
      },
      train: { epochs: f.epochs, batchSize: f.batchSize, ...(lrs.length === 1 ? { lr: lrs[0] } : {}) },
    },
  };
  // Value lists in flow style ([1, 2, 3]) read like the examples in the docs.
  const doc = new YAML.Document(spec);
  YAML.visit(doc, { Seq: (_, node) => void (node.flow = true) });
  return doc.toString();
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function NewGridPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const [form, setForm] = useState<FormState>(INITIAL);
  const [text, setText] = useState(() => toYaml(INITIAL));
  const [handEdited, setHandEdited] = useState(false);
  const [force, setForce] = useState(false);
  const debounced = useDebounced(text, 300);
  const preview = useQuery({
    ...trpc.grids.preview.queryOptions({ text: debounced || " ", fileName: "grid.yaml" }),
    placeholderData: (p) => p,
  });
  const submit = useMutation(trpc.grids.submit.mutationOptions({ onSuccess: (g) => router.push(`/grids/${g.id}`) }));
  // The real data sources this server knows (the Datasets page); the simulated proxy-real stays the default.
  const datasets = useQuery(trpc.datasets.list.queryOptions());
  const usable = (datasets.data ?? []).filter((d) => !d.problem && d.splits.some((s) => s.split === "common"));
  const picked = usable.find((d) => d.specDir === form.realDir);

  function update<K extends keyof FormState>(k: K, v: FormState[K]) {
    const next = { ...form, [k]: v };
    setForm(next);
    setText(toYaml(next));
    setHandEdited(false);
  }

  const p = preview.data;
  const varying = useMemo(() => {
    if (!p?.ok) return [] as string[];
    return Object.entries(p.spec.parameters)
      .filter(([, v]) => v.length > 1)
      .map(([k]) => k)
      .filter((k) => k !== "regime" && k !== "seed");
  }, [p]);
  const stale = debounced !== text;
  const canSubmit = !!p?.ok && !stale && !submit.isPending;

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">Grids / new</div>
          <h1>New grid</h1>
          <div className="sub">Regimes × seeds × hyper-parameters; every cell becomes one queued run.</div>
        </div>
      </div>
      <div className="grid-2" style={{ alignItems: "start" }}>
        <div className="card">
          <h2>Form</h2>
          <div className="form-grid">
            <label className="field full">
              Name <span className="hint">unique; resubmitting a name needs “submit anyway”</span>
              <input name="name" value={form.name} onChange={(e) => update("name", e.target.value)} />
            </label>
            <div className="field full">
              Regimes
              <div className="row" style={{ gap: 14 }}>
                {REGIMES.map((id) => (
                  <label key={id} className="check">
                    <input
                      type="checkbox"
                      name={`regime-${id}`}
                      checked={form.regimes.includes(id)}
                      onChange={(e) => update("regimes", e.target.checked ? [...form.regimes, id] : form.regimes.filter((r) => r !== id))}
                    />
                    {REGIME_TRAITS[id].label}
                  </label>
                ))}
              </div>
            </div>
            <label className="field">
              Seeds <span className="hint">comma-separated</span>
              <input name="seeds" value={form.seeds} onChange={(e) => update("seeds", e.target.value)} />
            </label>
            <label className="field">
              Dense scheme (points)
              <select name="scheme" value={form.scheme} onChange={(e) => update("scheme", Number(e.target.value))}>
                {[68, 243, 460, 490, 1001].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              Epochs
              <input name="epochs" type="number" min={1} value={form.epochs} onChange={(e) => update("epochs", Number(e.target.value))} />
            </label>
            <label className="field">
              Batch size
              <input
                name="batchSize"
                type="number"
                min={1}
                value={form.batchSize}
                onChange={(e) => update("batchSize", Number(e.target.value))}
              />
            </label>
            <label className="field">
              Learning rates <span className="hint">several = a grid axis</span>
              <input name="lrs" value={form.lrs} onChange={(e) => update("lrs", e.target.value)} />
            </label>
            <label className="field">
              Input size (px)
              <input name="inputSize" type="number" value={form.inputSize} onChange={(e) => update("inputSize", Number(e.target.value))} />
            </label>
            <label className="field">
              Hourglass stacks
              <input name="stacks" type="number" value={form.stacks} onChange={(e) => update("stacks", Number(e.target.value))} />
            </label>
            <label className="field">
              Channels
              <input name="channels" type="number" value={form.channels} onChange={(e) => update("channels", Number(e.target.value))} />
            </label>
            <label className="field">
              Synthetic train / test images
              <div className="row" style={{ gap: 6, flexWrap: "nowrap" }}>
                <input
                  name="syntheticTrain"
                  type="number"
                  style={{ width: "50%" }}
                  value={form.syntheticTrain}
                  onChange={(e) => update("syntheticTrain", Number(e.target.value))}
                />
                <input
                  name="syntheticTest"
                  type="number"
                  style={{ width: "50%" }}
                  value={form.syntheticTest}
                  onChange={(e) => update("syntheticTest", Number(e.target.value))}
                />
              </div>
            </label>
            <label className="field full">
              Real data
              <select name="realDir" value={form.realDir} onChange={(e) => update("realDir", e.target.value)} data-testid="real-source">
                <option value={PROXY}>proxy-real — SIMULATED stand-in for 300-W (rendered, offline default)</option>
                {usable.map((d) => (
                  <option key={d.name} value={d.specDir}>
                    {d.name} — real photos: {d.splits.map((s) => `${s.split} ${s.count}`).join(", ")}
                    {d.splits.some((s) => s.split === "challenging") ? "" : " (no challenging split)"}
                  </option>
                ))}
              </select>
              <span className="hint">
                {form.realDir === PROXY ? (
                  <>
                    <span className="tag">SIMULATED</span> not real photos; real datasets are listed on the{" "}
                    <Link href="/datasets">Datasets</Link> page
                  </>
                ) : picked && !picked.splits.some((s) => s.split === "challenging") ? (
                  "no challenging split: the tables show that column as “no data”"
                ) : (
                  "real photos, read from the dataset folder at run time"
                )}
              </span>
            </label>
            <label className="field">
              Real train / common / challenging{" "}
              <span className="hint">
                {form.realDir === PROXY ? "(simulated proxy-real)" : "(at most; a real dataset has what it has)"}
              </span>
              <div className="row" style={{ gap: 6, flexWrap: "nowrap" }}>
                <input
                  name="realTrain"
                  type="number"
                  style={{ width: "33%" }}
                  value={form.realTrain}
                  onChange={(e) => update("realTrain", Number(e.target.value))}
                />
                <input
                  name="realCommon"
                  type="number"
                  style={{ width: "33%" }}
                  value={form.realCommon}
                  onChange={(e) => update("realCommon", Number(e.target.value))}
                />
                <input
                  name="realChallenging"
                  type="number"
                  style={{ width: "33%" }}
                  value={form.realChallenging}
                  onChange={(e) => update("realChallenging", Number(e.target.value))}
                />
              </div>
            </label>
          </div>
        </div>
        <div className="card">
          <div className="row" style={{ marginBottom: 8 }}>
            <h2 style={{ margin: 0 }}>Spec (YAML)</h2>
            <div className="grow" />
            {handEdited && (
              <button
                className="btn sm"
                onClick={() => {
                  setText(toYaml(form));
                  setHandEdited(false);
                }}
              >
                Reset from form
              </button>
            )}
          </div>
          <textarea
            className={`editor ${p && !p.ok && !stale ? "invalid" : ""}`}
            spellCheck={false}
            aria-label="Grid spec YAML"
            name="spec"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setHandEdited(true);
            }}
          />
          <div style={{ marginTop: 8 }} data-testid="spec-status">
            {stale || preview.isFetching ? (
              <span className="small muted">Checking…</span>
            ) : preview.isError ? (
              <ErrorBox error={preview.error} what="the preview" />
            ) : p && !p.ok ? (
              <div className="error-box" role="alert">
                {p.error}
              </div>
            ) : p?.ok ? (
              <div className="ok-box">
                Valid: {p.runs.length} run{p.runs.length === 1 ? "" : "s"} ({p.spec.parameters.regime?.length ?? 1} regime ×{" "}
                {p.spec.parameters.seed?.length ?? 1} seed{varying.length ? ` × ${varying.join(" × ")}` : ""}).
              </div>
            ) : null}
          </div>
          {handEdited && (
            <div className="small muted" style={{ marginTop: 6 }}>
              Edited by hand: changing the form rewrites the YAML.
            </div>
          )}
        </div>
      </div>

      <div className="card flush">
        <div className="card-head">
          <h2>Preview {p?.ok ? `· ${p.runs.length} runs` : ""}</h2>
          <div className="row">
            <label className="check small">
              <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> submit anyway if the name exists
            </label>
            <button
              className="btn primary"
              disabled={!canSubmit}
              onClick={() => submit.mutate({ text, fileName: "grid.yaml", force })}
              data-testid="submit-grid"
            >
              {submit.isPending ? "Submitting…" : p?.ok ? `Queue ${p.runs.length} runs` : "Queue runs"}
            </button>
          </div>
        </div>
        {submit.error && (
          <div className="card-body">
            <ErrorBox error={submit.error} what="the submission" />
          </div>
        )}
        {p?.ok ? (
          <div style={{ maxHeight: 360, overflow: "auto" }}>
            <table className="data" data-testid="preview-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Run</th>
                  <th>Regime</th>
                  <th>Seed</th>
                  {varying.map((v) => (
                    <th key={v} className="mono">
                      {v}
                    </th>
                  ))}
                  <th className="r">Epochs</th>
                  <th className="r">Scheme</th>
                </tr>
              </thead>
              <tbody>
                {p.runs.slice(0, 500).map((r, i) => (
                  <tr key={i}>
                    <td className="num muted">{i + 1}</td>
                    <td className="mono small">{r.name}</td>
                    <td>
                      <span className="tag">{r.regime}</span>
                    </td>
                    <td className="num">{r.seed}</td>
                    {varying.map((v) => (
                      <td key={v} className="mono small">
                        {String(v.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], r.config))}
                      </td>
                    ))}
                    <td className="r num">{r.config.train.epochs}</td>
                    <td className="r num">{r.config.data.scheme}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <div className="empty small">Fix the spec to see the runs it expands to.</div>
        )}
      </div>
    </div>
  );
}
