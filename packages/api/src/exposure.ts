/**
 * Who can reach the dashboard (issue 16.2). Mutations are open unless LML_TOKEN is set, which is safe
 * only while the dashboard listens on loopback: `npm start` refuses a HOST beyond loopback without a
 * token, unless told `--insecure`, and then says so loudly.
 */
import { isIPv4, isIPv6 } from "node:net";
import { UsageError } from "@lml/core";

/** A token shorter than this is guessable: warned about when the dashboard is reachable from elsewhere. */
export const MIN_EXPOSED_TOKEN_LENGTH = 16;

/** Whether `host` (as given to HOST / `next start -H`) binds to this machine's loopback interface only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIPv4(h)) return h.startsWith("127.");
  if (isIPv6(h)) return h === "::1" || /^(0+:){7}0*1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

export interface ExposureInput {
  host: string;
  port: number;
  /** LML_TOKEN. */
  token?: string | null;
  /** `--insecure`: start anyway without a token. */
  insecure?: boolean;
}

/**
 * Throws a UsageError (exit 2) when the dashboard would listen beyond loopback with open mutations;
 * returns the warnings to print when it starts anyway (`--insecure`) or with a short token.
 */
export function checkDashboardExposure({ host, port, token, insecure }: ExposureInput): string[] {
  if (isLoopbackHost(host)) return [];
  const where = `HOST=${host} (port ${port})`;
  if (!token) {
    if (!insecure)
      throw new UsageError(
        `${where} makes the dashboard reachable from other machines, and without LML_TOKEN anyone who reaches it ` +
          "can submit, cancel and re-queue runs: set LML_TOKEN to a long random secret (changes then require it), " +
          "or leave HOST unset (127.0.0.1); `npm start -- --insecure` starts it open anyway",
      );
    return [
      `WARNING: ${where} without LML_TOKEN (--insecure): anyone who can reach this machine's port ${port} ` +
        "can submit, cancel and re-queue runs",
    ];
  }
  if (token.length < MIN_EXPOSED_TOKEN_LENGTH)
    return [`WARNING: ${where}: LML_TOKEN is ${token.length} characters long; use at least ${MIN_EXPOSED_TOKEN_LENGTH} random ones`];
  return [];
}
