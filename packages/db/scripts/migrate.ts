// npm run db:migrate: apply committed migrations to DATABASE_URL, else to the embedded PGlite database.
import { migrateDefaultDatabase } from "../src/migrate-default";

try {
  const r = await migrateDefaultDatabase({ log: (line) => console.log(line) });
  console.log(
    r.appliedNow.length
      ? `applied ${r.appliedNow.length} migration(s) to ${r.url}`
      : `${r.url} is up to date (${r.applied.length} migration(s) applied)`,
  );
} catch (err) {
  console.error(`db:migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
