"use client";
/**
 * `/datasets`: the real datasets this server knows (under LML_DATASETS, the data dir's datasets/ folder,
 * and registered folders) with their splits and face counts, the simulated proxy-real stand-in beside
 * them, and registering a folder. Runs may read only inside these (issue 16.1).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/trpc/client";
import { Empty, ErrorBox, Loading } from "./ui";

const ORIGIN_LABELS: Record<string, string> = {
  shared: "../shared/datasets",
  LML_DATASETS: "LML_DATASETS",
  "data-dir": "data dir",
  registered: "registered",
};

export function DatasetsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.datasets.list.queryOptions());
  const [name, setName] = useState("");
  const [path, setPath] = useState("");
  const done = () => qc.invalidateQueries({ queryKey: trpc.datasets.list.queryKey() });
  const register = useMutation(
    trpc.datasets.register.mutationOptions({
      onSuccess: () => {
        setName("");
        setPath("");
        void done();
      },
    }),
  );
  const unregister = useMutation(trpc.datasets.unregister.mutationOptions({ onSuccess: () => void done() }));

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Datasets</h1>
          <div className="sub">
            Real face datasets (image + 68-point <code>.pts</code> pairs, split into <code>train/</code>, <code>common/</code> and an
            optional <code>challenging/</code>). Runs read data only inside these folders.
          </div>
        </div>
      </div>

      <div className="card flush">
        {list.isPending ? (
          <Loading />
        ) : list.isError ? (
          <div className="card-body">
            <ErrorBox error={list.error} what="datasets" />
          </div>
        ) : list.data.length === 0 ? (
          <Empty title="No real datasets found" icon="face">
            Put a dataset folder under <code>LML_DATASETS</code> (default <code>../shared/datasets</code>) or the data dir&apos;s{" "}
            <code>datasets/</code>, or register one below. Runs use the simulated proxy-real domain meanwhile.
          </Empty>
        ) : (
          <table className="data" data-testid="datasets-table">
            <thead>
              <tr>
                <th>Dataset</th>
                <th>From</th>
                <th className="r">Train</th>
                <th className="r">Common</th>
                <th className="r">Challenging</th>
                <th>Folder (data.real.dir)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => {
                const count = (split: string) => d.splits.find((s) => s.split === split)?.count;
                return (
                  <tr key={d.name}>
                    <td>
                      <Link href={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                      {d.problem && <div className="small muted">{d.problem}</div>}
                    </td>
                    <td>
                      <span className="tag">{ORIGIN_LABELS[d.origin] ?? d.origin}</span>
                    </td>
                    {["train", "common", "challenging"].map((s) => (
                      <td key={s} className="r num">
                        {count(s) ?? <span className="muted">no data</span>}
                      </td>
                    ))}
                    <td className="mono small">{d.specDir}</td>
                    <td className="r">
                      {d.origin === "registered" && (
                        <button className="btn sm" onClick={() => unregister.mutate({ name: d.name })} disabled={unregister.isPending}>
                          Unregister
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
              <tr>
                <td>
                  proxy-real <span className="tag">SIMULATED</span>
                </td>
                <td>
                  <span className="tag">@lml/synth</span>
                </td>
                <td colSpan={3} className="small muted">
                  rendered stand-in for 300-W (data.realTrain / realCommon / realChallenging faces) — not real photos
                </td>
                <td className="mono small">data.real.source: proxy-real</td>
                <td />
              </tr>
            </tbody>
          </table>
        )}
      </div>
      {unregister.error && <ErrorBox error={unregister.error} what="the change" />}

      <div className="card">
        <h2>Register a dataset folder</h2>
        <p className="small muted">
          A folder on this server&apos;s machine with a <code>train/</code> sub-folder (or a <code>train.txt</code> list). Registrations are
          kept in the data dir&apos;s <code>datasets.json</code>; a worker on another machine needs the folder under its own{" "}
          <code>LML_DATASETS</code>.
        </p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            register.mutate({ name, path });
          }}
        >
          <input name="dataset-name" placeholder="name (e.g. my-300w)" value={name} onChange={(e) => setName(e.target.value)} />
          <input
            name="dataset-path"
            placeholder="/absolute/path/to/folder"
            className="grow"
            value={path}
            onChange={(e) => setPath(e.target.value)}
          />
          <button className="btn primary" type="submit" disabled={!name || !path || register.isPending}>
            Register
          </button>
        </form>
        {register.error && (
          <div style={{ marginTop: 8 }}>
            <ErrorBox error={register.error} what="the registration" />
          </div>
        )}
      </div>
    </div>
  );
}
