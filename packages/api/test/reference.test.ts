// Reference rows beside the study tables: which belong where, how the exports show them, and the peers
// file's checks.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildStudyTables, exportTables, type EvaluationLike, type RunLike } from "../src/index-pure";
import { loadPeersFile, parsePeersFile, peersFilePath, referenceRowsFor, withReferences, type PeerReferenceFile } from "../src/reference";

const runs: RunLike[] = [
  { id: "a", regime: "synthetic-only", seed: 1, config: {} },
  { id: "b", regime: "syn-real-label-adaptation", seed: 1, config: {} },
];
const imgs = (base: number) => Array.from({ length: 10 }, (_, i) => base + (i % 3) * 0.1);
const ev = (runId: string, testSet: string, protocol: string, nme: number): EvaluationLike => ({
  runId,
  testSet,
  protocol,
  norm: "inter-pupil",
  nme,
  auc8: 0.5,
  fr8: 0.1,
  auc10: 0.6,
  fr10: 0.05,
  count: 10,
  perImage: imgs(nme),
});
const evaluations = [ev("a", "common", "nearest-subset", 9), ev("b", "common", "nearest-subset", 6), ev("b", "common", "test-time-mlp", 4)];

function peerFile(overrides: Partial<PeerReferenceFile["rows"][number]> = {}): PeerReferenceFile {
  const perImage = Array.from({ length: 4 }, (_, i) => ({
    name: `img${i}.pts`,
    nme: { "inter-pupil": 2 + i, "inter-ocular": 1 + i },
    box: (i === 0 ? "fixed" : "detected") as "fixed" | "detected",
  }));
  const metrics = { nme: 0, auc8: 0.6, fr8: 0.01, auc10: 0.7, fr10: 0 };
  return {
    kind: "lml.peer-reference-rows",
    version: 1,
    dataset: { folder: "../shared/datasets/300w128", source: "SOURCE.md" },
    evaluator: "lml eval",
    rows: [
      {
        key: "dlib",
        name: "dlib ERT (68)",
        method: "ERT",
        software: { dlib: "19.24" },
        model: { file: "/usr/share/dlib/model.dat", bytes: 1, sha256: "0".repeat(64) },
        protocol: "own detector",
        testSet: "common",
        n: 4,
        metrics: { "inter-pupil": { ...metrics, nme: 3.5 }, "inter-ocular": { ...metrics, nme: 2.5 } },
        detectorFailures: 1,
        wallSeconds: 1,
        measuredAt: "2026-12-02T09:18:06.764Z",
        machine: { cpu: "x", cores: 2, memoryGiB: 24, os: "linux", node: "20" },
        command: "node scripts/peers/run.mjs",
        perImage,
        ...overrides,
      },
    ],
  };
}

describe("reference rows", () => {
  const tables = buildStudyTables(evaluations, runs, { norm: "inter-pupil", metric: "nme" });

  it("puts each published table beside its protocol, anchors and peers beside both, under their norm", () => {
    const [ns, mlp] = tables;
    const nsKeys = referenceRowsFor(ns, peerFile()).map((r) => r.key);
    expect(nsKeys).toContain("published:table1:synthetic-only");
    expect(nsKeys).not.toContain("published:table2:synthetic-only");
    expect(nsKeys).toContain("published:anchor:star-ip");
    expect(nsKeys).not.toContain("published:anchor:hrnetv2-w18"); // inter-ocular only
    expect(nsKeys).toContain("peer:dlib");
    expect(referenceRowsFor(mlp, null).map((r) => r.key)).toContain("published:table2:syn-real-label-adaptation");
    const peer = referenceRowsFor(ns, peerFile()).find((r) => r.kind === "peer")!;
    expect(peer.cells).toEqual({ "synthetic-test": null, common: 3.5, challenging: null });
    expect(peer.note).toContain("1 of 4 scored from the fixed face box");
    // AUC: the study published none, so only peers (whose files carry it) remain.
    const auc = referenceRowsFor({ ...ns, metric: "auc8" }, peerFile());
    expect(auc.map((r) => r.kind)).toEqual(["peer"]);
    expect(auc[0].cells.common).toBe(0.6);
  });

  it("leaves ranking, best marks and tests alone", () => {
    const withRefs = withReferences(tables, peerFile());
    expect(withRefs[0].rows).toBe(tables[0].rows);
    expect(tables[0].references).toBeUndefined();
    const best = withRefs[0].rows.find((r) => r.cells.common?.best)!;
    // Published 5.033 and the peer's 3.5 beat 6.0, and still the run's row is the column's best.
    expect(best.regime).toBe("syn-real-label-adaptation");
  });

  it("exports references apart, and changes nothing when there are none", () => {
    const plain = exportTables(tables, "md");
    const md = exportTables(withReferences(tables, peerFile()), "md");
    expect(md).toContain("| _Published: Syn+real with label adaptation_ | _3.278_ | _5.033_ | _9.595_ |");
    expect(md).toContain("| _Peer: dlib ERT (68)_ | _–_ | _3.500_ | _–_ |");
    expect(md).toContain("Rows in italics are references");
    expect(
      md
        .split("\n")
        .filter((l) => !/_Published|_Peer|references|seed study|measured here|unclear/.test(l))
        .join("\n"),
    ).toBe(plain);
    const csv = exportTables(withReferences(tables, peerFile()), "csv").trim().split("\n");
    expect(csv[0]).toBe(exportTables(tables, "csv").split("\n")[0]);
    expect(csv.find((l) => l.includes("reference:peer"))).toBe("nearest-subset,Peer: dlib ERT (68),reference:peer,,,,,,3.5,,,,,,,,,");
    const tex = exportTables(withReferences(tables, peerFile()), "latex");
    expect(tex).toContain("\\textit{Published: Synthetic only} & \\textit{3.610}");
  });

  it("reads the peers file where scripts/peers writes it, and names the field of a bad one", () => {
    const dir = mkdtempSync(join(tmpdir(), "lml-peers-"));
    expect(peersFilePath({}, dir)).toBeNull();
    const file = join(dir, "peers.json");
    writeFileSync(file, JSON.stringify(peerFile()));
    expect(loadPeersFile(peersFilePath({ LML_PEERS_FILE: file }))!.rows[0].key).toBe("dlib");
    const bad = peerFile({
      metrics: { ...peerFile().rows[0].metrics, "inter-pupil": { ...peerFile().rows[0].metrics["inter-pupil"], nme: 9 } },
    });
    expect(() => parsePeersFile(JSON.stringify(bad), file)).toThrow(
      `${file}: rows.0.metrics.inter-pupil.nme: 9 is not the mean of perImage (3.5)`,
    );
    expect(() => parsePeersFile("{", file)).toThrow(`${file}: not JSON`);
  });
});
