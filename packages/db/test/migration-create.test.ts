import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsDir } from "../src/index";
import { createMigration, diffSchemaAgainstMigrations } from "../src/schema-diff";

// Offline migration authoring: schema-engine-wasm diffs a throwaway PGlite (with the committed
// migrations applied) against schema.prisma. Runs on a copy of prisma/ so the repo is untouched.
describe("migration:create", () => {
  let root: string;
  let dir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "lml-prisma-"));
    dir = join(root, "migrations");
    cpSync(migrationsDir(), dir, { recursive: true });
    cpSync(join(migrationsDir(), "..", "schema.prisma"), join(root, "schema.prisma"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("finds nothing to do when the committed migrations match schema.prisma", async () => {
    expect(await diffSchemaAgainstMigrations({ dir })).toBe("");
    expect(await createMigration("noop", { dir })).toEqual({ name: null, path: null, sql: "" });
  }, 60_000);

  it("writes the SQL for a schema change, after which the schema and migrations agree", async () => {
    const schemaFile = join(root, "schema.prisma");
    const schema = readFileSync(schemaFile, "utf8");
    writeFileSync(schemaFile, schema.replace("  backend         String?\n", "  backend         String?\n  tags            String[]\n"));
    const created = await createMigration("Add run tags!", { dir });
    expect(created.name).toMatch(/^\d{14}_add_run_tags$/);
    expect(readFileSync(created.path!, "utf8")).toBe(created.sql);
    expect(created.sql).toContain(`ALTER TABLE "Run" ADD COLUMN     "tags" TEXT[]`);
    expect(await diffSchemaAgainstMigrations({ dir })).toBe("");
  }, 60_000);

  it("refuses a name without letters or digits", async () => {
    await expect(createMigration("--", { dir })).rejects.toThrow(/at least one letter or digit/);
  });
});
