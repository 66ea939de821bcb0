/**
 * Server side of the dashboard: one database connection per server process, the request context of
 * the tRPC routers, and the face templates for the heatmaps.
 */
import type { Context } from "@lml/api";
import { serverRequestLimiter, tokenFromHeaders } from "@lml/api";
import { IBUG68, type LandmarkScheme } from "@lml/core";
import { clientConnectionString, connectDatabase, openChangeFeed, type ChangeFeed, type Database } from "@lml/db";

const g = globalThis as { __lmlDb?: Promise<Database>; __lmlChanges?: ChangeFeed };

/**
 * The shared connection (kept on globalThis so that dev reloads do not open a pool each time). A failed
 * connect is forgotten so that the next request tries again once the database is up.
 */
export function database(): Promise<Database> {
  if (!g.__lmlDb) {
    g.__lmlDb = connectDatabase().catch((err: unknown) => {
      g.__lmlDb = undefined;
      throw err;
    });
  }
  return g.__lmlDb;
}

/**
 * What changed in the database, for the pages' live updates (one feed per server process): LISTEN on
 * PostgreSQL, polling on the embedded PGlite; LML_LIVE=poll forces polling (e.g. behind a pooler that
 * drops LISTEN).
 */
export function changeFeed(db: Database): ChangeFeed {
  const mode = process.env.LML_LIVE || undefined;
  if (mode !== undefined && mode !== "poll" && mode !== "listen") throw new Error(`LML_LIVE must be poll or listen, got "${mode}"`);
  g.__lmlChanges ??= openChangeFeed(clientConnectionString(db.prisma)!, db.kind, { mode });
  return g.__lmlChanges;
}

const schemes = new Map<number, Promise<LandmarkScheme | null>>();

/**
 * Template by point count: the synthetic generator's schemes (its 68-point scheme shares the dense
 * schemes' frame), and core's iBug68 when the generator has no 68-point scheme.
 */
export function getScheme(count: number): Promise<LandmarkScheme | null> {
  let s = schemes.get(count);
  if (!s) {
    s = (async () => {
      try {
        const synth = (await import("@lml/synth")) as { getScheme?: (n: number) => LandmarkScheme | Promise<LandmarkScheme> };
        if (synth.getScheme) return await synth.getScheme(count);
      } catch {
        // No generator scheme with this count: fall through.
      }
      return count === 68 ? IBUG68 : null;
    })();
    schemes.set(count, s);
  }
  return s;
}

/** Dataset realism statistics: the synthetic generator's `domainStats` (`lml synth stats`), loaded on first use. */
const datasetTools: NonNullable<Context["datasetTools"]> = {
  async domainStats(o) {
    const { domainStats } = await import("@lml/synth/stats");
    return domainStats(o);
  },
};

export async function createContext(req: Request): Promise<Context> {
  const db = await database();
  return {
    prisma: db.prisma,
    token: tokenFromHeaders(req.headers),
    requiredToken: process.env.LML_TOKEN || null,
    // Rate limits on the procedures that expand or compute (grids.preview, grids.submit; issue 16.3).
    limiter: serverRequestLimiter,
    getScheme,
    datasetTools,
    changes: changeFeed(db),
  };
}
