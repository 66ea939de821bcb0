// Applying migrations to "the" database: DATABASE_URL when set; else the embedded PGlite database,
// through its running server when one answers, or by opening the data folder briefly when none does.
import { probeDatabase } from "./client";
import { defaultDataDir, startEmbeddedServer } from "./embedded";
import { migrate, type MigrateResult } from "./migrate";
import { DatabaseUrlError, embeddedUrl, redactUrl } from "./url";

export async function migrateDefaultDatabase(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<MigrateResult & { url: string }> {
  const env = options.env ?? process.env;
  const explicit = env.DATABASE_URL?.trim();
  if (explicit) return { ...(await migrate(explicit, { log: options.log })), url: redactUrl(explicit) };
  const url = embeddedUrl();
  try {
    await probeDatabase(url, { connectTimeoutMs: 2000 });
    return { ...(await migrate(url, { log: options.log })), url };
  } catch (err) {
    // Only "no server there" means we may open the folder ourselves; anything else is a real error.
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (!(err instanceof DatabaseUrlError) || code !== "ECONNREFUSED") throw err;
  }
  const dataDir = defaultDataDir(env);
  options.log?.(`no embedded server on ${url}; opening ${dataDir} directly`);
  const server = await startEmbeddedServer({ dataDir, port: 0 });
  try {
    return { ...(await migrate(server.url, { log: options.log })), url: `pglite:${dataDir}` };
  } finally {
    await server.close();
  }
}
