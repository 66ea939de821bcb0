// The live-change feed: what changed in the database (runs, grids, workers), pushed to whoever
// subscribes (the dashboard's server-sent events). Two sources, one event shape:
// - PostgreSQL: LISTEN on channel "lml_change", which the triggers of migration *_live_changes notify at
//   commit (one notification per statement, carrying the changed run and grid ids).
// - The embedded PGlite: pglite-socket gives every client one shared backend, so a notification goes
//   back to the connection that committed it, never to a listener (tested in changes.test.ts). The feed
//   polls instead, while anyone subscribes: the same triggers number every change of a run or worker
//   (Run.changeSeq, Worker.changeSeq), and PGlite runs one transaction at a time, so numbers commit in
//   order and "changed since n" misses nothing.
// After a lost connection the feed emits one `resync` event: subscribers refetch everything.
import { EventEmitter } from "node:events";
import pg from "pg";
import { z } from "zod";
import type { DbKind } from "./client";

export const CHANGE_CHANNEL = "lml_change";
/** Ids listed per event; past this a field is null, meaning "many: refetch all of that kind". */
export const CHANGE_ID_LIMIT = 40;

export interface ChangeEvent {
  /** Runs that changed (status, progress, results…), or null when many or unknown. */
  runs: string[] | null;
  /** Grids whose runs changed, or null when many or unknown. */
  grids: string[] | null;
  /** A worker registered, beat or stopped. */
  workers: boolean;
  /** A grid was created or removed (the grids list changed). */
  gridList: boolean;
  /** Changes may have been missed (the feed lost its connection): refetch everything. */
  resync: boolean;
}

export type ChangeFeedMode = "listen" | "poll";

export interface ChangeFeed {
  readonly mode: ChangeFeedMode;
  /** Calls `listener` with each (coalesced) change until the returned function is called. */
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  /**
   * Resolves once the feed is connected and sees every later change (LISTEN active, or the poll's
   * baseline read); rejects when the database cannot be reached (the feed keeps retrying).
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /** "listen" (PostgreSQL's LISTEN/NOTIFY) or "poll"; default: listen on PostgreSQL, poll on PGlite. */
  mode?: ChangeFeedMode;
  /** Poll interval (poll mode), default 250 ms. */
  pollMs?: number;
  /** Changes arriving within this window are sent as one event, default 50 ms. */
  coalesceMs?: number;
  /** Longest wait between reconnection attempts, default 5 s. */
  maxBackoffMs?: number;
}

// The triggers' payload (a boundary: parsed, not trusted).
const Notification = z.union([
  z.object({
    table: z.literal("Run"),
    runs: z.array(z.string()).nullable(),
    grids: z.array(z.string()).nullable(),
    seq: z.union([z.number(), z.string()]).nullable(),
  }),
  z.object({ table: z.enum(["Grid", "Worker"]) }),
]);

const EMPTY: ChangeEvent = { runs: [], grids: [], workers: false, gridList: false, resync: false };

function mergeIds(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null || b === null) return null;
  const all = [...new Set([...a, ...b])];
  return all.length > CHANGE_ID_LIMIT ? null : all;
}

/** One event saying everything `a` and `b` say. */
export function mergeChanges(a: ChangeEvent, b: ChangeEvent): ChangeEvent {
  return {
    runs: mergeIds(a.runs, b.runs),
    grids: mergeIds(a.grids, b.grids),
    workers: a.workers || b.workers,
    gridList: a.gridList || b.gridList,
    resync: a.resync || b.resync,
  };
}

/** The event a trigger's payload stands for; a payload that does not parse means "something changed". */
export function changeFromNotification(payload: string | undefined): ChangeEvent {
  let parsed: z.infer<typeof Notification>;
  try {
    parsed = Notification.parse(JSON.parse(payload ?? ""));
  } catch {
    return { ...EMPTY, runs: null, grids: null, workers: true, gridList: true };
  }
  if (parsed.table === "Run") return { ...EMPTY, runs: parsed.runs, grids: parsed.grids };
  if (parsed.table === "Grid") return { ...EMPTY, gridList: true };
  return { ...EMPTY, workers: true };
}

/**
 * Opens the feed for the database at `url` (its kind decides the source unless `options.mode` says).
 * Nothing connects until the first subscriber or `ready()`; polling stops while nobody subscribes.
 */
export function openChangeFeed(url: string, kind: DbKind, options: ChangeFeedOptions = {}): ChangeFeed {
  const mode: ChangeFeedMode = options.mode ?? (kind === "pglite" ? "poll" : "listen");
  const pollMs = options.pollMs ?? 250;
  const coalesceMs = options.coalesceMs ?? 50;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0); // one per open page
  const listening = () => emitter.listenerCount("change") > 0;
  let closed = false;
  let client: pg.Client | null = null;
  let opened: Promise<void> | null = null;
  let failures = 0;
  let pending: ChangeEvent | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  // Poll mode: the highest numbers seen so far (kept while nobody listens, so nothing is missed).
  let seen: Seen | null = null;

  const emit = (event: ChangeEvent) => {
    pending = pending ? mergeChanges(pending, event) : event;
    flushTimer ??= setTimeout(() => {
      flushTimer = null;
      const e = pending!;
      pending = null;
      emitter.emit("change", e);
    }, coalesceMs);
  };

  const dropClient = () => {
    const c = client;
    client = null;
    if (!c) return;
    c.removeAllListeners();
    c.on("error", () => {});
    void c.end().catch(() => {});
  };

  /** The connection failed or was lost: reconnect (with backoff) while anyone listens. */
  const lost = () => {
    dropClient();
    opened = null;
    seen = null;
    failures++;
    if (closed || retryTimer || !listening()) return;
    const wait = Math.min(maxBackoffMs, 250 * 2 ** Math.min(failures - 1, 5));
    retryTimer = setTimeout(() => {
      retryTimer = null;
      start().catch(() => {});
    }, wait);
  };

  async function open(): Promise<void> {
    const c = new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    try {
      await c.connect();
      if (mode === "listen") {
        c.on("notification", (n) => n.channel === CHANGE_CHANNEL && emit(changeFromNotification(n.payload)));
        await c.query(`LISTEN ${CHANGE_CHANNEL}`);
      } else {
        seen ??= await readSeen(c);
      }
    } catch (err) {
      void c.end().catch(() => {});
      throw err;
    }
    c.removeAllListeners("error");
    c.on("error", lost);
    c.on("end", lost);
    client = c;
  }

  function start(): Promise<void> {
    if (closed) return Promise.reject(new Error("the change feed is closed"));
    opened ??= open().then(
      () => {
        // Whatever happened while the connection was down was missed.
        if (failures > 0) emit({ ...EMPTY, resync: true });
        failures = 0;
        schedulePoll();
      },
      (err: unknown) => {
        lost();
        throw err;
      },
    );
    return opened;
  }

  const schedulePoll = () => {
    if (mode !== "poll" || closed || pollTimer || !client || !listening()) return;
    pollTimer = setTimeout(() => {
      pollTimer = null;
      void poll().finally(schedulePoll);
    }, pollMs);
  };

  async function poll(): Promise<void> {
    const c = client;
    if (!c) return;
    try {
      const now = await readSeen(c);
      const before = seen;
      seen = now;
      if (!before) return;
      const event: ChangeEvent = { ...EMPTY, workers: now.worker !== before.worker, gridList: now.grids !== before.grids };
      if (now.run !== before.run) Object.assign(event, await changedRuns(c, before.run));
      if (event.workers || event.gridList || event.runs === null || event.runs.length > 0) emit(event);
    } catch {
      if (client === c) lost();
    }
  }

  return {
    mode,
    subscribe(listener) {
      emitter.on("change", listener);
      // Polling stops while nobody listens: restart it (a no-op when it runs or in listen mode).
      start()
        .then(schedulePoll)
        .catch(() => {});
      return () => {
        emitter.off("change", listener);
        if (!listening() && pollTimer) {
          clearTimeout(pollTimer);
          pollTimer = null;
        }
      };
    },
    ready: () => start(),
    async close() {
      closed = true;
      for (const t of [flushTimer, pollTimer, retryTimer]) if (t) clearTimeout(t);
      emitter.removeAllListeners();
      await opened?.catch(() => {});
      dropClient();
    },
  };
}

interface Seen {
  run: string;
  worker: string;
  grids: string;
}

async function readSeen(c: pg.Client): Promise<Seen> {
  const { rows } = await c.query<{ run: string | null; worker: string | null; grids: string }>(
    `SELECT (SELECT max("changeSeq") FROM "Run")::text AS run, (SELECT max("changeSeq") FROM "Worker")::text AS worker,
            (SELECT count(*) FROM "Grid")::text AS grids`,
  );
  return { run: rows[0].run ?? "0", worker: rows[0].worker ?? "0", grids: rows[0].grids };
}

/** The runs (and their grids) numbered after `since`, or null where there are more than the limit. */
async function changedRuns(c: pg.Client, since: string): Promise<Pick<ChangeEvent, "runs" | "grids">> {
  const changed = await c.query<{ id: string; gridId: string | null }>(
    `SELECT "id", "gridId" FROM "Run" WHERE "changeSeq" > $1 ORDER BY "changeSeq" LIMIT ${CHANGE_ID_LIMIT + 1}`,
    [since],
  );
  if (changed.rows.length <= CHANGE_ID_LIMIT) {
    return { runs: changed.rows.map((r) => r.id), grids: [...new Set(changed.rows.flatMap((r) => (r.gridId ? [r.gridId] : [])))] };
  }
  const grids = await c.query<{ gridId: string }>(
    `SELECT DISTINCT "gridId" FROM "Run" WHERE "changeSeq" > $1 AND "gridId" IS NOT NULL LIMIT ${CHANGE_ID_LIMIT + 1}`,
    [since],
  );
  return { runs: null, grids: grids.rows.length <= CHANGE_ID_LIMIT ? grids.rows.map((r) => r.gridId) : null };
}
