// GET /api/health: is the database reachable, what is it, and are all committed migrations applied.
import { clientUrl, type DbKind } from "./client";
import type { PrismaClient } from "./generated/prisma/client";
import { migrationState, readMigrationFiles, type RowQuery } from "./migrate";
import { redactUrl, resolveDatabaseUrl } from "./url";

export interface Health {
  ok: boolean;
  db: { reachable: boolean; url: string; kind: DbKind | null; serverVersion?: string; error?: string };
  migrations: { applied: string[]; pending: string[]; upToDate: boolean; error?: string };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n").filter(Boolean).slice(-1)[0] ?? "unknown error";
}

/** Never throws: an unreachable database or a missing migrations folder is reported in the result. */
export async function getHealth(prisma: PrismaClient, options: { url?: string; migrationsDir?: string } = {}): Promise<Health> {
  const url = redactUrl(options.url ?? clientUrl(prisma) ?? resolveDatabaseUrl());
  const query: RowQuery = (sql) => prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql);
  let db: Health["db"];
  try {
    const rows = await query("select version() as version");
    const version = String(rows[0]?.version ?? "");
    db = { reachable: true, url, kind: version.includes("PGlite") ? "pglite" : "postgres", serverVersion: version };
  } catch (err) {
    db = { reachable: false, url, kind: null, error: oneLine(err) };
  }
  let migrations: Health["migrations"];
  try {
    if (db.reachable) {
      const s = await migrationState(query, options.migrationsDir);
      migrations = { applied: s.applied, pending: s.pending, upToDate: s.upToDate };
    } else {
      migrations = { applied: [], pending: readMigrationFiles(options.migrationsDir).map((m) => m.name), upToDate: false };
    }
  } catch (err) {
    migrations = { applied: [], pending: [], upToDate: false, error: oneLine(err) };
  }
  return { ok: db.reachable && migrations.upToDate, db, migrations };
}
