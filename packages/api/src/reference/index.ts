/**
 * Reference rows for the results tables: the study's published numbers and peers measured on our crops.
 * They sit beside a table's rows (same columns, same metric and norm), never among them: no ranking,
 * no "best", no significance marks.
 */
import type { ReferenceRow, StudyTable } from "../format";
import { loadPeersFile, PEER_NORMS, type PeerReferenceFile } from "./peers";
import { PUBLISHED_ROWS } from "./published";

export { PUBLISHED_ROWS, type PublishedRow } from "./published";
export * from "./peers";

/** The reference rows that belong beside `table`: those with a value in at least one of its columns. */
export function referenceRowsFor(table: Pick<StudyTable, "protocol" | "norm" | "metric" | "columns">, peers: PeerReferenceFile | null): ReferenceRow[] {
  const testSets = table.columns.map((c) => c.testSet);
  const cells = (value: (testSet: string) => number | undefined) =>
    Object.fromEntries(testSets.map((t) => [t, value(t) ?? null])) as Record<string, number | null>;
  const rows: ReferenceRow[] = [];
  for (const p of PUBLISHED_ROWS) {
    if (p.norm !== table.norm || p.metric !== table.metric) continue;
    if (p.protocols !== "all" && !p.protocols.includes(table.protocol)) continue;
    rows.push({ key: p.key, kind: "published", label: p.label, source: p.source, note: p.note, cells: cells((t) => p.values[t]) });
  }
  const norm = PEER_NORMS.find((n) => n === table.norm);
  for (const peer of norm ? (peers?.rows ?? []) : []) {
    const fixed = peer.perImage.filter((i) => i.box === "fixed").length;
    rows.push({
      key: `peer:${peer.key}`,
      kind: "peer",
      label: peer.name,
      source: `measured here by scripts/peers (${peer.command}), ${peer.measuredAt.slice(0, 10)}`,
      note: `${peer.n} crops of the ${peer.testSet} test set, our evaluator; ${fixed} of ${peer.n} scored from the fixed face box`,
      cells: cells((t) => (t === peer.testSet ? peer.metrics[norm!][table.metric] : undefined)),
    });
  }
  return rows.filter((r) => Object.values(r.cells).some((v) => v !== null));
}

/** The tables with their reference rows attached (new objects; the inputs are shared and not changed). */
export function withReferences(tables: readonly StudyTable[], peers: PeerReferenceFile | null = loadPeersFile()): StudyTable[] {
  return tables.map((t) => ({ ...t, references: referenceRowsFor(t, peers) }));
}
