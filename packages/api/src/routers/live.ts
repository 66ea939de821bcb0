/**
 * Live updates: one server-sent-event stream per open page (tRPC subscription over SSE), fed by the
 * database's change feed (@lml/db openChangeFeed: LISTEN/NOTIFY on PostgreSQL, polling on PGlite).
 * The page refetches what an event names instead of polling. After a reconnect (the server restarted,
 * the network dropped) the client sends the last event id it saw and gets `resync: true`: changes in
 * between were not seen, so it refetches everything it shows.
 */
import { tracked, TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { mergeChanges, type ChangeEvent, type ChangeFeedMode } from "@lml/db";
import { publicProcedure, router } from "../trpc";

export type LiveEvent =
  /** First event of every stream; `live: false` while the database cannot be reached (a resync follows). */
  { kind: "ready"; mode: ChangeFeedMode; live: boolean; resync: boolean } | ({ kind: "change" } & ChangeEvent);

export const liveRouter = router({
  changes: publicProcedure
    .input(
      z
        .object({ lastEventId: z.string().max(100).nullish() })
        .strict()
        .optional(),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const feed = ctx.changes;
      if (!feed) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "this server has no live-change feed" });
      const stream = randomUUID().slice(0, 8);
      let n = 0;
      const id = () => `${stream}.${n++}`;
      let pending: ChangeEvent | null = null;
      let wake: (() => void) | null = null;
      const stop = feed.subscribe((e) => {
        pending = pending ? mergeChanges(pending, e) : e;
        wake?.();
      });
      const aborted = new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true }));
      try {
        const live = await feed.ready().then(
          () => true,
          () => false,
        );
        yield tracked(id(), { kind: "ready", mode: feed.mode, live, resync: !!input?.lastEventId } as LiveEvent);
        while (!signal?.aborted) {
          if (!pending) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          wake = null;
          if (!pending || signal?.aborted) continue;
          const event: ChangeEvent = pending;
          pending = null;
          yield tracked(id(), { kind: "change", ...event } as LiveEvent);
        }
      } finally {
        stop();
      }
    }),
});
