// One way to get a Prisma client for any postgresql:// URL: the embedded PGlite server and a real
// PostgreSQL server go through the same driver (pg) and adapter (@prisma/adapter-pg).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client";
import { assertPostgresUrl, DatabaseUrlError, describeConnectionFailure, redactUrl, resolveDatabaseUrl } from "./url";
import { CatalogTypesPool, EMBEDDED_POOL_MAX } from "./workarounds";

export type DbKind = "pglite" | "postgres";

export interface ClientOptions {
  /** Pool size; default 1 for the embedded PGlite server (see workarounds.ts), 5 for PostgreSQL. */
  poolMax?: number;
  /** What the URL points at; `connectDatabase` finds out by asking the server. */
  kind?: DbKind;
  /** Milliseconds to wait for a TCP connection before failing (default 5000). */
  connectTimeoutMs?: number;
}

// What each client was built for, so getHealth(prisma) can report the URL without being told.
const clientUrls = new WeakMap<object, string>();

/** The redacted URL a client from createPrismaClient/connectDatabase talks to. */
export function clientUrl(prisma: object): string | undefined {
  return clientUrls.get(prisma);
}

// The unredacted URL of each client, for opening a second connection to the same database.
const clientConnectionStrings = new WeakMap<object, string>();

/**
 * The URL (password included) a client from createPrismaClient/connectDatabase talks to: for code that
 * needs its own connection to the same database, such as the worker's lease-keeping thread. Never log it.
 */
export function clientConnectionString(prisma: object): string | undefined {
  return clientConnectionStrings.get(prisma);
}

/** Builds a client without touching the network; the first query connects. Prefer `connectDatabase`. */
export function createPrismaClient(url: string, options: ClientOptions = {}): PrismaClient {
  assertPostgresUrl(url);
  const max = options.poolMax ?? (options.kind === "pglite" ? EMBEDDED_POOL_MAX : 5);
  const pool = new CatalogTypesPool({
    connectionString: url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
  });
  // An idle pooled connection that dies (server restart) must not crash the process.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  clientUrls.set(prisma, redactUrl(url));
  clientConnectionStrings.set(prisma, url);
  return prisma;
}

export interface ProbeResult {
  kind: DbKind;
  serverVersion: string;
}

/**
 * Connects once with pg and asks the server what it is. Any failure becomes ONE DatabaseUrlError line
 * naming the redacted URL and the reason (refused, unknown host, auth, missing database, timeout).
 */
export async function probeDatabase(url: string, options: { connectTimeoutMs?: number } = {}): Promise<ProbeResult> {
  assertPostgresUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>("select version() as version");
    const version = rows[0]?.version ?? "";
    return { kind: version.includes("PGlite") ? "pglite" : "postgres", serverVersion: version };
  } catch (err) {
    // pg reports a connect timeout as a plain Error with this message and no code.
    const timedOut = err instanceof Error && /timeout/i.test(err.message) && !(err as { code?: string }).code;
    throw new DatabaseUrlError(url, timedOut ? "connection timed out" : describeConnectionFailure(url, err), { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}

export interface Database {
  prisma: PrismaClient;
  /** The redacted URL (safe to print). */
  url: string;
  kind: DbKind;
  close(): Promise<void>;
}

/** Probes the URL (DATABASE_URL else the embedded server) and returns a ready Prisma client. */
export async function connectDatabase(url: string = resolveDatabaseUrl(), options: ClientOptions = {}): Promise<Database> {
  const { kind } = await probeDatabase(url, options);
  const prisma = createPrismaClient(url, { ...options, kind });
  return { prisma, url: redactUrl(url), kind, close: () => prisma.$disconnect() };
}

export { PrismaClient };
