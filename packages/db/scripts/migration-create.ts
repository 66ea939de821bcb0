// npm run db:migration:create -- <name> [--empty]: write a migration for the change in schema.prisma.
import { createMigration, diffSchemaAgainstMigrations } from "../src/schema-diff";

const args = process.argv.slice(2);
const empty = args.includes("--empty");
const name = args.filter((a) => !a.startsWith("--")).join("_");
try {
  const created = await createMigration(name, { empty });
  if (!created.path) {
    console.log("schema.prisma matches the committed migrations: nothing to create (use --empty for a hand-written one)");
  } else {
    console.log(`created ${created.path}`);
    // The new migration must take the schema all the way: diff again with it applied.
    const rest = await diffSchemaAgainstMigrations();
    if (rest) {
      console.error(`warning: after applying ${created.name} the schema still differs:\n${rest}`);
      process.exitCode = 1;
    }
  }
} catch (err) {
  console.error(`migration:create: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
