/**
 * Bounds on what one request may make the server do (issue 16.3): procedures that expand or compute
 * (grids.preview, which is public, and grids.submit) are rate-limited, specs are bounded in size and
 * in expansion time, and a request body is read only up to a size. Each refusal names its bound.
 *
 * The rate limiter is a token bucket per (procedure, caller class), in this server process's memory:
 * hand-written (a few lines; no rate-limiting package is installed). Callers that present the
 * configured token have their own buckets, so a flood of anonymous previews cannot lock the team out.
 * It applies to requests whose context carries a limiter: the dashboard's HTTP requests; in-process
 * callers (tests, the CLI) carry none.
 */
import { TRPCError } from "@trpc/server";

/** Largest request body the tRPC endpoint reads (a spec of MAX_SPEC_CHARS fits with room to spare). */
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

/** Longest spec text grids.preview and grids.submit accept. */
export const MAX_SPEC_CHARS = 200_000;

/** How long expanding one spec may take on the request thread (core's expandGrid budget). */
export const SPEC_EXPANSION_BUDGET_MS = 2000;

export interface RateLimit {
  /** Requests allowed at once after a quiet spell. */
  burst: number;
  /** Requests allowed per second after the burst. */
  perSecond: number;
}

/** The rate-limited procedures and their limits, per caller class. */
export const RATE_LIMITS = {
  "grids.preview": { burst: 20, perSecond: 2 },
  "grids.submit": { burst: 5, perSecond: 1 / 6 },
} as const satisfies Record<string, RateLimit>;

export type RateLimitedProcedure = keyof typeof RATE_LIMITS;

function describeLimit(limit: RateLimit): string {
  const rate = limit.perSecond >= 1 ? `${limit.perSecond} per second` : `1 per ${Math.round(1 / limit.perSecond)} s`;
  return `${limit.burst} at once, then ${rate}`;
}

/** Token buckets by key; one instance per server process (the default) or per test. */
export class RequestLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: Record<RateLimitedProcedure, RateLimit> = RATE_LIMITS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes one request from the bucket of `procedure` for `caller`, or throws TOO_MANY_REQUESTS naming the bound. */
  take(procedure: RateLimitedProcedure, caller: "token" | "public"): void {
    const now = this.clock();
    const limit = this.limits[procedure];
    const key = `${procedure}:${caller}`;
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryS = Math.ceil((1 - bucket.tokens) / limit.perSecond);
      const who = caller === "token" ? "callers with the token" : "callers without the token";
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `${procedure}: rate limit reached (${describeLimit(limit)}, for ${who}); retry in ${retryS} s`,
      });
    }
    bucket.tokens -= 1;
  }
}

/** The limiter of a server process: the dashboard's request context passes it to every request. */
export const serverRequestLimiter = new RequestLimiter();

/**
 * The request with its body read, when the body is at most `maxBytes`; otherwise a 413 response naming
 * the bound (read no further than the bound, whatever Content-Length says). For the fetch adapter,
 * which has no body limit of its own.
 */
export async function limitRequestBody(req: Request, maxBytes = MAX_REQUEST_BYTES): Promise<Request | Response> {
  const tooLarge = () =>
    Response.json(
      { error: { message: `request body larger than ${maxBytes} bytes (the limit of this endpoint)`, code: "PAYLOAD_TOO_LARGE" } },
      { status: 413 },
    );
  if (!req.body) return req;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) return tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return tooLarge();
    }
    chunks.push(value);
  }
  return new Request(req.url, { method: req.method, headers: req.headers, body: Buffer.concat(chunks), signal: req.signal });
}
