/** Workers: the trainer processes, whether they are alive (recent heartbeat) and what they run. */
import { z } from "zod";
import { publicProcedure, router } from "../trpc";
import { pageInput } from "./shared";

/** A worker that has not beaten for this long is shown as lost (workers beat every few seconds). */
export const HEARTBEAT_STALE_MS = 60_000;

export const workersRouter = router({
  list: publicProcedure
    .input(
      z
        .object({ ...pageInput, includeStopped: z.boolean().default(false) })
        .strict()
        .default({ page: 1, pageSize: 25, includeStopped: false }),
    )
    .query(async ({ ctx, input }) => {
      const where = input.includeStopped ? {} : { stoppedAt: null };
      const [total, workers] = await Promise.all([
        ctx.prisma.worker.count({ where }),
        ctx.prisma.worker.findMany({
          where,
          orderBy: { lastHeartbeat: "desc" },
          skip: (input.page - 1) * input.pageSize,
          take: input.pageSize,
        }),
      ]);
      const runIds = workers.map((w) => w.currentRunId).filter((x): x is string => !!x);
      const runs = runIds.length
        ? await ctx.prisma.run.findMany({ where: { id: { in: runIds } }, select: { id: true, name: true, progress: true, gridId: true } })
        : [];
      const now = Date.now();
      return {
        items: workers.map((w) => ({
          ...w,
          state: w.stoppedAt
            ? ("stopped" as const)
            : now - w.lastHeartbeat.getTime() > HEARTBEAT_STALE_MS
              ? ("lost" as const)
              : ("alive" as const),
          currentRun: runs.find((r) => r.id === w.currentRunId) ?? null,
        })),
        total,
        page: input.page,
        pageSize: input.pageSize,
        // So that a page can age the heartbeats between live updates (a silent worker writes nothing).
        now: new Date(now),
        staleAfterMs: HEARTBEAT_STALE_MS,
      };
    }),
});
