import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checksum, getHealth, migrate, migrationsDir, readMigrationFiles } from "../src/index";
import { describeEachDatabase } from "../src/testing";

describeEachDatabase("migrations", (db) => {
  // A private copy of the committed migrations (per database) that the tests add to.
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lml-migrations-"));
    cpSync(migrationsDir(), dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function addMigration(name: string, sql: string): void {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "migration.sql"), sql);
  }

  it("applies every committed migration, and applying again is a no-op", async () => {
    const committed = readMigrationFiles().map((m) => m.name);
    expect(committed.length).toBeGreaterThan(0);
    const rowsBefore = await db().prisma.$queryRawUnsafe<{ migration_name: string; checksum: string; finished_at: Date }[]>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    // Rows as Prisma writes them: one per migration, finished, sha256 of the file.
    expect(rowsBefore.map((r) => r.migration_name)).toEqual(committed);
    const first = readMigrationFiles()[0]!;
    expect(rowsBefore[0]!.checksum).toBe(checksum(readFileSync(join(migrationsDir(), first.name, "migration.sql"), "utf8")));
    expect(rowsBefore.every((r) => r.finished_at instanceof Date)).toBe(true);

    const again = await migrate(db().rawUrl);
    expect(again.appliedNow).toEqual([]);
    expect(again.upToDate).toBe(true);
    const rowsAfter = await db().prisma.$queryRawUnsafe<unknown[]>(`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rowsAfter).toEqual(await db().prisma.$queryRawUnsafe(`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`));
    expect(rowsAfter).toHaveLength(rowsBefore.length);
  });

  it("health reports the database and a pending migration until it is applied", async () => {
    const healthy = await getHealth(db().prisma, { migrationsDir: dir });
    expect(healthy).toMatchObject({ ok: true, db: { reachable: true, kind: db().kind }, migrations: { pending: [], upToDate: true } });
    expect(healthy.db.url).toBe(db().url);

    addMigration(
      "29990101000000_add_run_tags",
      `ALTER TABLE "Run" ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}';\nCREATE INDEX "Run_tags_idx" ON "Run" USING GIN ("tags");\n`,
    );
    const behind = await getHealth(db().prisma, { migrationsDir: dir });
    expect(behind.ok).toBe(false);
    expect(behind.migrations).toMatchObject({ pending: ["29990101000000_add_run_tags"], upToDate: false });

    const applied = await migrate(db().rawUrl, { dir });
    expect(applied.appliedNow).toEqual(["29990101000000_add_run_tags"]);
    expect((await getHealth(db().prisma, { migrationsDir: dir })).migrations.upToDate).toBe(true);
    expect(await db().prisma.$queryRawUnsafe(`SELECT "tags" FROM "Run" LIMIT 0`)).toEqual([]);
  });

  it("rolls a failing migration back completely and says which one failed", async () => {
    addMigration("29990102000000_broken", `CREATE TABLE "Half" (id int);\nSELECT no_such_function();\n`);
    const err = (await migrate(db().rawUrl, { dir }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/migration 29990102000000_broken failed and was rolled back: .*no_such_function/);
    expect(err.message).not.toContain("\n");
    // Neither the table nor a _prisma_migrations row survived.
    const [half] = await db().prisma.$queryRawUnsafe<{ t: string | null }[]>(`SELECT to_regclass('"Half"')::text AS t`);
    expect(half!.t).toBeNull();
    const rows = await db().prisma.$queryRawUnsafe<unknown[]>(
      `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990102000000_broken'`,
    );
    expect(rows).toEqual([]);
    rmSync(join(dir, "29990102000000_broken"), { recursive: true });
  });
});
