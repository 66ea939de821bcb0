/**
 * `EXPLAIN (ANALYZE, BUFFERS)` of the queries behind the results, runs and grids pages and the live
 * feed, on the bench's grid: the SQL that Prisma sends for them written out (same tables, filters and
 * order), so the plans show which indexes answer. Written to one text file per database and size.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

export interface ExplainSummary {
  query: string;
  /** Execution time the plan reports, in ms. */
  executionMs: number;
  /** Index names the plan uses ("seq scan" when it reads a table whole). */
  access: string[];
}

export async function explainQueries(url: string, gridId: string, file: string): Promise<ExplainSummary[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("ANALYZE");
    const someRuns = (
      await c.query<{ id: string }>(`SELECT id FROM "Run" WHERE "gridId" = $1 ORDER BY "createdAt" LIMIT 500`, [gridId])
    ).rows.map((r) => r.id);
    const someEvals = (
      await c.query<{ id: string }>(`SELECT id FROM "Evaluation" WHERE "runId" = ANY($1::uuid[]) AND norm = 'inter-pupil'`, [someRuns])
    ).rows.map((r) => r.id);
    const seq = (await c.query<{ s: string }>(`SELECT (max("changeSeq") - 5)::text AS s FROM "Run"`)).rows[0].s;
    const queries: [string, string, unknown[]][] = [
      [
        "results fingerprint (every view)",
        `SELECT count(*)::int AS n, coalesce(max("changeSeq"), 0)::text AS seq FROM "Run" WHERE "gridId" = $1::uuid AND "status" = 'SUCCEEDED'`,
        [gridId],
      ],
      [
        "results build: runs",
        `SELECT id, regime, seed, config FROM "Run" WHERE "gridId" = $1 AND status = 'SUCCEEDED' ORDER BY "createdAt", id`,
        [gridId],
      ],
      [
        "results build: scalar evaluations of one norm",
        `SELECT e.id, e."runId", e."testSet", e.protocol, e.norm, e.nme, e.auc8, e.fr8, e.auc10, e.fr10, e.count FROM "Evaluation" e
         WHERE e.norm = 'inter-pupil' AND e."runId" IN (SELECT r.id FROM "Run" r WHERE r."gridId" = $1 AND r.status = 'SUCCEEDED')`,
        [gridId],
      ],
      [
        "results build: norms",
        `SELECT e.norm FROM "Evaluation" e WHERE e."runId" IN (SELECT r.id FROM "Run" r WHERE r."gridId" = $1 AND r.status = 'SUCCEEDED') GROUP BY e.norm ORDER BY e.norm`,
        [gridId],
      ],
      [
        `paired tests: per-image errors by id (${someEvals.length} rows)`,
        `SELECT id, "perImage" FROM "Evaluation" WHERE id = ANY($1::uuid[])`,
        [someEvals],
      ],
      ["runs list: count", `SELECT count(*) FROM "Run" WHERE "gridId" = $1`, [gridId]],
      [
        "runs list: a window deep in the list",
        `SELECT id, name, regime, seed, config, status, progress FROM "Run" WHERE "gridId" = $1 ORDER BY "createdAt" ASC, id ASC LIMIT 100 OFFSET 9000`,
        [gridId],
      ],
      [
        "grids list: progress by status",
        `SELECT "gridId", status, count(*), sum(progress), min("startedAt"), max("finishedAt") FROM "Run" WHERE "gridId" = ANY($1::uuid[]) GROUP BY "gridId", status`,
        [[gridId]],
      ],
      [
        "live feed poll (PGlite): highest numbers",
        `SELECT (SELECT max("changeSeq") FROM "Run") AS run, (SELECT max("changeSeq") FROM "Worker") AS worker, (SELECT count(*) FROM "Grid") AS grids`,
        [],
      ],
      [
        "live feed poll (PGlite): runs changed since",
        `SELECT "id", "gridId" FROM "Run" WHERE "changeSeq" > $1 ORDER BY "changeSeq" LIMIT 41`,
        [seq],
      ],
    ];
    const out: string[] = [];
    const summaries: ExplainSummary[] = [];
    for (const [name, sql, params] of queries) {
      const { rows } = await c.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
      const plan = rows.map((r) => r["QUERY PLAN"]);
      out.push(`-- ${name}\n${sql.replace(/\s+/g, " ")}\n${plan.join("\n")}\n`);
      const text = plan.join("\n");
      summaries.push({
        query: name,
        executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? NaN),
        access: [
          ...new Set([...text.matchAll(/Index (?:Only )?Scan(?: Backward)? using "?([\w]+)"?/g)].map((m) => m[1])),
          ...(/Seq Scan on/.test(text) ? ["seq scan"] : []),
          ...(/Bitmap Index Scan on "?([\w]+)"?/.test(text)
            ? [...text.matchAll(/Bitmap Index Scan on "?([\w]+)"?/g)].map((m) => `bitmap ${m[1]}`)
            : []),
        ],
      });
    }
    writeFileSync(file, out.join("\n"));
    return summaries;
  } finally {
    await c.end();
  }
}

export function explainFile(dir: string, db: string, n: number): string {
  return join(dir, `explain-${db}-${n}.txt`);
}
