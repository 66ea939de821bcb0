/**
 * Wire format between the dashboard and the routers: JSON with Dates kept as Dates (Prisma rows carry
 * timestamps; plain JSON would hand the browser strings typed as Dates).
 */
const DATE_KEY = "$lmlDate";

function encode(v: unknown): unknown {
  if (v instanceof Date) return { [DATE_KEY]: v.toISOString() };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x);
    return out;
  }
  return typeof v === "bigint" ? Number(v) : v;
}

function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o[DATE_KEY] === "string" && Object.keys(o).length === 1) return new Date(o[DATE_KEY] as string);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decode(x);
    return out;
  }
  return v;
}

export const transformer = { serialize: encode, deserialize: decode };
