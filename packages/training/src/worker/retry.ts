/**
 * Waiting and retrying for the worker: database calls are retried with back-off while the connection
 * is lost; bad input (a UsageError) is not, since it would fail again.
 */
import { UsageError } from "@lml/core";
import type { Logger } from "pino";
import { errorText } from "./error-text";
import { sleep } from "./wait";

export { errorText, sleep };

export interface RetryContext {
  log: Logger;
  /** Give up (rethrow the last error) after this long. */
  forMs: number;
  /** Stop retrying (rethrow) once this is aborted: only for work that holds no lease. */
  abort?: AbortSignal;
}

/**
 * Retries a database call with exponential back-off (200 ms doubling to 5 s, jittered) while the
 * connection is lost. Bad input (UsageError) is not retried.
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, ctx: RetryContext): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= ctx.forMs || ctx.abort?.aborted) throw err;
      const delay = Math.min(5000, 200 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      ctx.log.warn({ what, attempt: attempt + 1, retryInMs: Math.round(delay), err: errorText(err) }, "database call failed; retrying");
      await sleep(Math.min(delay, ctx.forMs - elapsed), ctx.abort);
    }
  }
}
