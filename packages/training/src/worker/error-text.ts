/**
 * Errors as the worker logs and records them (Run.error, attemptErrors): one line that keeps what the
 * database said. Loads nothing, so the lease-keeping thread can use it.
 */
/**
 * What the database said inside a Prisma error (`meta.driverAdapterError.cause`, or the whole `meta`):
 * `message` is what to look for in the error's own text, `text` what to add when it is not there.
 */
function databaseSaid(err: Error): { message: string; text: string } | null {
  const meta = (err as { meta?: { driverAdapterError?: { cause?: Record<string, unknown> } } }).meta;
  if (!meta) return null;
  const cause = meta.driverAdapterError?.cause;
  if (!cause) return { message: JSON.stringify(meta).slice(0, 500), text: JSON.stringify(meta).slice(0, 500) };
  const message = typeof cause.originalMessage === "string" ? cause.originalMessage : JSON.stringify(cause);
  const sqlstate = cause.originalCode ? ` (SQLSTATE ${String(cause.originalCode)})` : "";
  return { message, text: `${typeof cause.kind === "string" ? `${cause.kind}: ` : ""}${message}${sqlstate}` };
}

/**
 * An error as one line for logs and Run.error, at most 2,000 characters: its message with blank lines
 * dropped (Prisma's start with lines of preamble before the database's reason), its code, what the
 * database said when the message leaves it out (Prisma's meta), and the chain of causes.
 */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    let text = e.message
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .join(" ");
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && !text.includes(code)) text += ` [${code}]`;
    const said = databaseSaid(e);
    if (said && !text.includes(said.message)) text += ` (database: ${said.text})`;
    parts.push(text || e.name);
    e = e.cause;
  }
  return parts.join("; caused by: ").slice(0, 2000);
}
