// Applies the committed prisma/migrations/*/migration.sql files, each in its own transaction, and keeps
// Prisma's `_prisma_migrations` table (same columns, sha256 checksums) so the Prisma CLI, where it can
// run, sees the same history. Works through plain pg, so PGlite (via pglite-socket) and PostgreSQL
// take the same path; multi-statement scripts go through the simple query protocol.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { probeDatabase } from "./client";
import { DatabaseUrlError, resolveDatabaseUrl } from "./url";

export interface MigrationFileInfo {
  /** Folder name, e.g. 20261126120000_init; sorting names sorts them in apply order. */
  name: string;
  sql: string;
  checksum: string;
}

export interface AppliedMigration {
  name: string;
  checksum: string;
  finishedAt: Date | null;
}

export interface MigrationState {
  applied: string[];
  pending: string[];
  /** Applied, but the file on disk changed since (checksum differs). */
  modified: string[];
  /** Started and never finished (a failed run of another tool); blocks further migrations. */
  failed: string[];
  /** Recorded in the database but missing from the migrations folder. */
  unknown: string[];
  upToDate: boolean;
}

/** `LML_MIGRATIONS_DIR`, else prisma/migrations next to this package, else found upwards from the cwd. */
export function migrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LML_MIGRATIONS_DIR) return resolve(env.LML_MIGRATIONS_DIR);
  const candidates: string[] = [];
  try {
    // A path, not `new URL(literal, import.meta.url)`: bundlers read that as a module to resolve.
    candidates.push(join(/* turbopackIgnore: true */ dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "prisma", "migrations"));
  } catch {
    // Bundled (e.g. by Next.js) import.meta.url may not be a file: URL; fall back to the cwd walk.
  }
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    candidates.push(join(dir, "prisma", "migrations"));
    if (dirname(dir) === dir) break;
  }
  const found = candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
  if (!found)
    throw new Error(`cannot find prisma/migrations (looked in ${candidates[0]} and above ${process.cwd()}); set LML_MIGRATIONS_DIR`);
  return found;
}

export function checksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

export function readMigrationFiles(dir: string = migrationsDir()): MigrationFileInfo[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: checksum(sql) };
    });
}

// Prisma's own definition of the table (schema-engine sql-migration-connector), kept verbatim.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Runs one SQL text and returns its rows; lets pg clients and Prisma ($queryRawUnsafe) share the logic. */
export type RowQuery = (sql: string) => Promise<Record<string, unknown>[]>;

export async function readAppliedMigrations(query: RowQuery): Promise<AppliedMigration[]> {
  const exists = await query(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!exists[0]?.t) return [];
  const rows = await query(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );
  return rows.map((r) => ({
    name: String(r.migration_name),
    checksum: String(r.checksum),
    finishedAt: r.finished_at == null ? null : new Date(r.finished_at as string),
  }));
}

export function compareMigrations(files: MigrationFileInfo[], applied: AppliedMigration[]): MigrationState {
  const done = new Map(applied.filter((a) => a.finishedAt).map((a) => [a.name, a]));
  const failed = applied.filter((a) => !a.finishedAt && !done.has(a.name)).map((a) => a.name);
  const onDisk = new Set(files.map((f) => f.name));
  const pending = files.filter((f) => !done.has(f.name)).map((f) => f.name);
  const modified = files.filter((f) => done.has(f.name) && done.get(f.name)!.checksum !== f.checksum).map((f) => f.name);
  const unknown = [...done.keys()].filter((n) => !onDisk.has(n));
  return {
    applied: files.filter((f) => done.has(f.name)).map((f) => f.name),
    pending,
    modified,
    failed,
    unknown,
    upToDate: pending.length === 0 && failed.length === 0,
  };
}

export async function migrationState(query: RowQuery, dir: string = migrationsDir()): Promise<MigrationState> {
  return compareMigrations(readMigrationFiles(dir), await readAppliedMigrations(query));
}

export interface MigrateResult extends MigrationState {
  /** Migrations this call applied (empty when the database was already up to date). */
  appliedNow: string[];
}

// Any constant: serialises concurrent migrators on PostgreSQL (harmless on single-backend PGlite).
const MIGRATION_LOCK_KEY = 72_707_369;

/** Applies pending migrations to `url` (DATABASE_URL else the embedded server); a no-op when up to date. */
export async function migrate(
  url: string = resolveDatabaseUrl(),
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<MigrateResult> {
  const dir = options.dir ?? migrationsDir();
  const log = options.log ?? (() => {});
  await probeDatabase(url); // one clear line when the URL is bad
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  const query: RowQuery = async (sql) => (await client.query(sql)).rows;
  const appliedNow: string[] = [];
  try {
    await client.query(CREATE_MIGRATIONS_TABLE);
    const files = readMigrationFiles(dir);
    for (const file of files) {
      await client.query("BEGIN");
      try {
        await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
        // Re-read under the lock: another migrator may have applied it meanwhile.
        const state = compareMigrations(files, await readAppliedMigrations(query));
        if (state.failed.length) {
          throw new Error(
            `migration ${state.failed.join(", ")} failed earlier and is marked unfinished in _prisma_migrations; fix it by hand`,
          );
        }
        if (!state.pending.includes(file.name)) {
          await client.query("COMMIT");
          continue;
        }
        log(`applying ${file.name}`);
        const id = randomUUID();
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
          [id, file.checksum, file.name],
        );
        await client.query(file.sql);
        await client.query(`UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
        await client.query("COMMIT");
        appliedNow.push(file.name);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        const msg = err instanceof Error ? err.message : String(err);
        throw new DatabaseUrlError(url, `migration ${file.name} failed and was rolled back: ${msg}`, { cause: err });
      }
    }
    const state = compareMigrations(files, await readAppliedMigrations(query));
    for (const name of state.modified) log(`warning: ${name} was edited after it was applied (checksum differs)`);
    for (const name of state.unknown) log(`warning: ${name} is recorded in the database but not in ${dir}`);
    return { ...state, appliedNow };
  } finally {
    await client.end().catch(() => {});
  }
}
