/**
 * tRPC setup shared by every domain router: the request context, the error shape (zod issues flattened
 * so that forms can show them next to fields) and the token check on mutations.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { timingSafeEqual } from "node:crypto";
import { ZodError } from "zod";
import type { RateLimitedProcedure, RequestLimiter } from "./request-limits";
import { transformer } from "./transformer";
import type { LandmarkScheme } from "@lml/core";
import type { ChangeFeed, PrismaClient } from "@lml/db";

export interface Context {
  prisma: PrismaClient;
  /** The token the caller presented (header `x-lml-token` or `Authorization: Bearer …`), if any. */
  token?: string | null;
  /** The token mutations require; when unset, mutations are open (the default on 127.0.0.1). */
  requiredToken?: string | null;
  /**
   * Face template of a scheme by point count (68 and the dense synthetic schemes). Injected by the
   * server that owns the synthetic generator, so that this package needs only core and db.
   */
  getScheme?: (count: number) => Promise<LandmarkScheme | null> | LandmarkScheme | null;
  /**
   * Dataset realism statistics: @lml/synth's `domainStats` (the same injection as `getScheme`). Its
   * result is @lml/synth's DomainStats, passed through as JSON.
   */
  datasetTools?: {
    domainStats(o: {
      domain: "synthetic" | "proxy-real" | "300w";
      split: string;
      count: number;
      size: number;
      dir?: string;
    }): Promise<unknown>;
  };
  /** What changed in the database, for the `live.changes` subscription (one feed per server process). */
  changes?: ChangeFeed;
  /** Rate limits of the procedures that expand or compute (the server's `serverRequestLimiter`); none in-process. */
  limiter?: RequestLimiter;
}

/** Reads the presented token from request headers. */
export function tokenFromHeaders(headers: Headers): string | null {
  const explicit = headers.get("x-lml-token");
  if (explicit) return explicit;
  const auth = headers.get("authorization");
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? m[1] : null;
}

const t = initTRPC.context<Context>().create({
  transformer,
  // Server-sent events (the live.changes subscription): a comment line every 15 s keeps proxies from
  // closing a quiet stream, and a client that hears nothing for 40 s reconnects.
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 40_000 } },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field path → messages, for forms; null when the error is not a validation error.
        zodIssues: cause instanceof ZodError ? cause.issues.map((i) => ({ path: i.path.join("."), message: i.message })) : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the caller presented the token this server requires (false when none is configured). */
function holdsToken(ctx: Context): boolean {
  return !!ctx.requiredToken && !!ctx.token && sameToken(ctx.token, ctx.requiredToken);
}

/** A procedure that expands or computes: one request taken from its rate limit first (request-limits.ts). */
export function rateLimited(procedure: RateLimitedProcedure) {
  return t.middleware(({ ctx, next }) => {
    ctx.limiter?.take(procedure, holdsToken(ctx) ? "token" : "public");
    return next();
  });
}

/** Mutations: refused without the right token whenever one is configured. */
export const mutationProcedure = t.procedure.use(({ ctx, next }) => {
  const required = ctx.requiredToken;
  if (required) {
    if (!ctx.token) throw new TRPCError({ code: "UNAUTHORIZED", message: "this server requires a token (LML_TOKEN) for changes" });
    if (!sameToken(ctx.token, required)) throw new TRPCError({ code: "FORBIDDEN", message: "wrong token" });
  }
  return next();
});

/** Zod pieces every router shares. */
export { z } from "zod";
