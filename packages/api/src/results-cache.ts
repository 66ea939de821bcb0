/**
 * What keeps the results tables from re-reading per-image errors on every view (issue 18), measured
 * against a database-maintained aggregate (see apps/web/bench/README.md):
 * - whole results, per server process, keyed by the tables' input and the FINGERPRINT of the runs they
 *   read: (count, max changeSeq) over those runs, which the database's triggers move on every change
 *   of a run or of its evaluations (one index-only scan; progress of runs not in the set moves nothing);
 * - paired tests, keyed by the evaluation rows the two cells average (ids change when a run's
 *   evaluations are rewritten): computed once per pair of cells, whichever view asks.
 * Both are bounded maps that forget the least recently used entry (a hand-written LRU: a Map keeps
 * insertion order, which is all an LRU needs).
 */
import { createHash } from "node:crypto";
import type { PrismaClient } from "@lml/db";
import type { PairedTest } from "./tables";

export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

/** Which runs a results query reads. */
export interface RunSelection {
  gridId?: string;
  runIds?: string[];
  allStatuses: boolean;
}

/**
 * Fingerprint of the runs a results query reads: their count and highest change number. Any run
 * entering or leaving the set (a status change) or changing (its evaluations rewritten) moves it.
 * Served by the index Run(gridId, status, changeSeq) as an index-only scan.
 */
export async function runsFingerprint(prisma: PrismaClient, sel: RunSelection): Promise<string> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (sel.gridId) where.push(`"gridId" = $${params.push(sel.gridId)}::uuid`);
  if (sel.runIds) where.push(`"id" = ANY($${params.push(sel.runIds)}::uuid[])`);
  if (!sel.allStatuses) where.push(`"status" = 'SUCCEEDED'`);
  const rows = await prisma.$queryRawUnsafe<{ n: number; seq: string }[]>(
    `SELECT count(*)::int AS n, coalesce(max("changeSeq"), 0)::text AS seq FROM "Run" WHERE ${where.join(" AND ") || "true"}`,
    ...params,
  );
  return `${rows[0].n}:${rows[0].seq}`;
}

/** A short stable key for a long list of ids. */
export function digest(parts: readonly string[]): string {
  return createHash("sha1").update(parts.join(",")).digest("base64url");
}

/** How often the costly paths ran in this process (tests assert "once"; the bench reports them). */
export const resultsCacheStats = { tableBuilds: 0, pairTestsComputed: 0 };

/** Paired tests by `digest([alpha, …best cell's evaluation ids, "|", …runner-up's ids])`. */
export const pairedTests = new BoundedCache<string, PairedTest>(4096);
