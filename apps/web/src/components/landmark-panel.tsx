"use client";
/** Heatmap(s) of one run's per-landmark error: the 68-point scheme and the dense scheme side by side. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { bestProtocol, DEFAULT_NORM, type NormKind } from "@lml/core/study";
import { useTRPC } from "@/trpc/client";
import { Heatmap } from "./heatmap";
import { Empty, ErrorBox, Loading } from "./ui";

export interface EvalKey {
  testSet: string;
  protocol: string;
  norm: string;
}

function LandmarkHeatmap({ runId, k, title }: { runId: string; k: EvalKey; title: string }) {
  const trpc = useTRPC();
  const q = useQuery(
    trpc.evaluations.landmarks.queryOptions({ runId, testSet: k.testSet, protocol: k.protocol, norm: k.norm as NormKind }),
  );
  return (
    <div className="card">
      <div className="chart-title">
        <h3 style={{ margin: 0 }}>{title}</h3>
        {q.data && (
          <span className="small muted num">
            {q.data.values.length} points · NME {q.data.nme.toFixed(3)} · {q.data.images} images
          </span>
        )}
      </div>
      {q.isPending ? (
        <Loading rows={4} />
      ) : q.isError ? (
        <ErrorBox error={q.error} what="per-landmark errors" />
      ) : q.data.values.length === 0 ? (
        <Empty title="No per-landmark errors stored" icon="face" />
      ) : !q.data.scheme ? (
        <Empty title={`No face template with ${q.data.values.length} points`} icon="face">
          The synthetic generator provides templates for its schemes; this count is unknown to it.
        </Empty>
      ) : (
        <Heatmap scheme={q.data.scheme} values={q.data.values} label={`${title}: per-landmark NME`} />
      )}
    </div>
  );
}

export function LandmarkPanel({ runId, evaluations }: { runId: string; evaluations: EvalKey[] }) {
  const testSets = [...new Set(evaluations.map((e) => e.testSet))];
  const norms = [...new Set(evaluations.map((e) => e.norm))];
  const [testSet, setTestSet] = useState(testSets.includes("common") ? "common" : testSets[0]);
  const [norm, setNorm] = useState(norms.includes(DEFAULT_NORM) ? DEFAULT_NORM : norms[0]);
  if (evaluations.length === 0)
    return (
      <div className="card">
        <Empty title="No evaluations yet" icon="face">
          The heatmap appears once the run has been evaluated.
        </Empty>
      </div>
    );
  const here = evaluations.filter((e) => e.testSet === testSet && e.norm === norm);
  const sparseProtocols = here.filter((e) => e.protocol !== "dense").map((e) => e.protocol);
  const sparse = bestProtocol(sparseProtocols);
  // Dense labels exist on the synthetic test set only: show it beside whichever 68-point set is chosen.
  const dense = here.find((e) => e.protocol === "dense") ?? evaluations.find((e) => e.protocol === "dense" && e.norm === norm);
  return (
    <div className="stack">
      <div className="row">
        <label className="field">
          Test set
          <select value={testSet} onChange={(e) => setTestSet(e.target.value)}>
            {testSets.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Normalisation
          <select value={norm} onChange={(e) => setNorm(e.target.value)}>
            {norms.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
      </div>
      <div className="grid-2">
        {sparse ? (
          <LandmarkHeatmap runId={runId} k={{ testSet, protocol: sparse, norm }} title={`68 points · ${sparse}`} />
        ) : (
          <div className="card">
            <Empty title="No 68-point evaluation on this test set" icon="face" />
          </div>
        )}
        {dense ? (
          <LandmarkHeatmap
            runId={runId}
            k={{ testSet: dense.testSet, protocol: "dense", norm }}
            title={`Dense scheme · ${dense.testSet}`}
          />
        ) : (
          <div className="card">
            <Empty title="No dense evaluation on this test set" icon="face">
              Dense points are evaluated where the test set has dense labels (synthetic test).
            </Empty>
          </div>
        )}
      </div>
    </div>
  );
}
