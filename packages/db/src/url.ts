// Database URLs: which one to use, and how to print one without leaking a password.

/** Port of the embedded PGlite server when LML_DB_PORT is not set. */
export const DEFAULT_EMBEDDED_PORT = 5488;

export function embeddedPort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LML_DB_PORT;
  if (raw === undefined || raw === "") return DEFAULT_EMBEDDED_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`LML_DB_PORT must be a port number (0-65535), got "${raw}"`);
  }
  return port;
}

/** The URL clients use for the embedded server (PGlite serves one database, "postgres"). */
export function embeddedUrl(port: number = embeddedPort(), host = "127.0.0.1"): string {
  return `postgresql://postgres@${host}:${port}/postgres`;
}

/** `DATABASE_URL` when set, else the embedded server's URL. */
export function resolveDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.DATABASE_URL?.trim();
  if (url) return url;
  return embeddedUrl(embeddedPort(env));
}

/** The URL with its password replaced by `***` (safe for logs, errors and /api/health). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    // Not parseable: strip anything between "//user:" and "@" by hand.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
  }
}

/** The same server with another database name (used to create and drop test databases). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function assertPostgresUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new DatabaseUrlError(url, "not a valid URL (expected postgresql://user[:password]@host:port/database)");
  }
  if (protocol !== "postgresql:" && protocol !== "postgres:") {
    throw new DatabaseUrlError(url, `unsupported scheme "${protocol}" (expected postgresql://)`);
  }
}

/** One line naming the (redacted) URL and why it cannot be used. */
export class DatabaseUrlError extends Error {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot use database ${redactUrl(url)}: ${reason}`, options);
    this.name = "DatabaseUrlError";
    this.url = redactUrl(url);
    this.reason = reason;
  }
}

/** Turns a pg/network error into the short reason for a DatabaseUrlError. */
export function describeConnectionFailure(url: string, err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { code?: string }[] };
  // AggregateError (IPv4 + IPv6 attempts) carries the real codes inside.
  const code = e?.code ?? e?.errors?.[0]?.code;
  let host = "?";
  let db = "?";
  let user = "?";
  try {
    const u = new URL(url);
    host = `${u.hostname}:${u.port || "5432"}`;
    user = decodeURIComponent(u.username) || "(default user)";
    db = decodeURIComponent(u.pathname.slice(1)) || user;
  } catch {
    /* assertPostgresUrl reports unparseable URLs */
  }
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused (ECONNREFUSED): nothing listens on ${host}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `unknown host (${code}): ${host.split(":")[0]} does not resolve`;
    case "ETIMEDOUT":
    case "CONNECT_TIMEOUT":
      return `connection timed out (${code}) to ${host}`;
    case "28P01":
      return `authentication failed for user "${user}" (28P01)`;
    case "28000":
      // invalid_authorization_specification: unknown role, or pg_hba.conf rejects the connection.
      return `authentication rejected for user "${user}": ${(e?.message ?? "").split("\n")[0]} (28000)`;
    case "3D000":
      return `database "${db}" does not exist (3D000)`;
    default: {
      const msg = (e?.message ?? String(err)).split("\n")[0];
      return code ? `${msg} (${code})` : msg || "unknown error";
    }
  }
}
