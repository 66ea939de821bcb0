// Fresh, migrated databases for vitest, on every target: PGlite always, PostgreSQL when
// TEST_DATABASE_URL is set or a server answers on 127.0.0.1:5432 (trust auth, user postgres).
//
//   import { describeEachDatabase } from "@lml/db/testing";
//   describeEachDatabase("grids", (db) => {
//     it("round-trips", async () => { await db().prisma.grid.findMany(); });
//   });
//
// Each describe block gets its own database (created in beforeAll, dropped in afterAll): an in-memory
// PGlite served by pglite-socket on a free port, or `CREATE DATABASE lml_test_<random>` on PostgreSQL.
// Both are reached through pg + @prisma/adapter-pg, the same path as production.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { connectDatabase, type Database, type DbKind } from "./client";
import { startEmbeddedServer } from "./embedded";
import { migrate } from "./migrate";
import { redactUrl, withDatabase } from "./url";

export interface TestTarget {
  kind: DbKind;
  /** For postgres: the server to create test databases on (its own database is left alone). */
  adminUrl?: string;
  /** Why the target is skipped, when it is. */
  skip?: string;
}

export interface TestDatabase extends Database {
  /** The unredacted URL (test-only servers; pass it to child processes). */
  rawUrl: string;
}

const LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres";

async function answers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return e.code ?? e.message ?? String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The targets for this run; PostgreSQL carries `skip` when it is not reachable (auto-detected only). */
export async function detectTestTargets(env: NodeJS.ProcessEnv = process.env): Promise<TestTarget[]> {
  const targets: TestTarget[] = [{ kind: "pglite" }];
  const explicit = env.TEST_DATABASE_URL?.trim();
  if (explicit) {
    // Asked for explicitly (CI): unreachable is a failure, not a skip, so it cannot pass silently.
    const why = await answers(explicit);
    if (why) throw new Error(`TEST_DATABASE_URL ${redactUrl(explicit)} does not answer (${why})`);
    targets.push({ kind: "postgres", adminUrl: explicit });
  } else {
    const why = await answers(LOCAL_POSTGRES);
    targets.push(
      why
        ? { kind: "postgres", skip: `PostgreSQL tests skipped: no TEST_DATABASE_URL and ${LOCAL_POSTGRES} does not answer (${why})` }
        : { kind: "postgres", adminUrl: LOCAL_POSTGRES },
    );
  }
  return targets;
}

/** A fresh migrated database on `target`; `close()` disconnects and removes it. */
export async function openTestDatabase(target: TestTarget): Promise<TestDatabase> {
  if (target.skip) throw new Error(target.skip);
  if (target.kind === "pglite") {
    const server = await startEmbeddedServer({ dataDir: "memory://", port: 0 });
    try {
      await migrate(server.url);
      const db = await connectDatabase(server.url);
      return {
        ...db,
        rawUrl: server.url,
        close: async () => {
          await db.close();
          await server.close();
        },
      };
    } catch (err) {
      await server.close();
      throw err;
    }
  }
  const adminUrl = target.adminUrl ?? LOCAL_POSTGRES;
  const name = `lml_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on("error", () => {});
  await admin.connect();
  const drop = async () => {
    // FORCE (PG 13+) ends connections a test forgot to close.
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
  };
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = withDatabase(adminUrl, name);
    await migrate(url);
    const db = await connectDatabase(url);
    return {
      ...db,
      rawUrl: url,
      close: async () => {
        await db.close();
        await drop();
      },
    };
  } catch (err) {
    await drop();
    throw err;
  }
}

// Top-level await: vitest collects describe blocks synchronously, so the targets are known up front.
const targets = await detectTestTargets();
let warned = false;

/** The targets (PGlite, PostgreSQL) with a skip reason on unreachable ones. */
export function testDatabases(): TestTarget[] {
  return targets;
}

/**
 * Runs `body` once per target inside `describe("<name> [pglite|postgres]")`, with a fresh migrated
 * database per block. `db()` returns it inside tests/hooks. Unreachable PostgreSQL shows as a skipped
 * block whose title says why.
 */
export function describeEachDatabase(name: string, body: (db: () => TestDatabase, target: TestTarget) => void): void {
  for (const target of targets) {
    if (target.skip) {
      if (!warned) {
        console.warn(`[@lml/db/testing] ${target.skip}`);
        warned = true;
      }
      describe.skip(`${name} [${target.kind}: ${target.skip}]`, () =>
        body(() => {
          throw new Error(target.skip);
        }, target));
      continue;
    }
    describe(`${name} [${target.kind}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await openTestDatabase(target);
      }, 60_000);
      afterAll(async () => {
        await current?.close();
      }, 30_000);
      body(() => {
        if (!current) throw new Error("test database not open yet (use db() inside tests or hooks)");
        return current;
      }, target);
    });
  }
}
