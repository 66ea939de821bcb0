/**
 * @lml/api: the dashboard's tRPC routers (one per domain) and the results tables and exports that
 * `lml report` shares with the dashboard.
 */
import { getHealth } from "@lml/db";
import { datasetsRouter } from "./routers/datasets";
import { evaluationsRouter } from "./routers/evaluations";
import { gridsRouter } from "./routers/grids";
import { liveRouter } from "./routers/live";
import { runsRouter } from "./routers/runs";
import { workersRouter } from "./routers/workers";
import { createCallerFactory, publicProcedure, router } from "./trpc";

export const appRouter = router({
  grids: gridsRouter,
  runs: runsRouter,
  evaluations: evaluationsRouter,
  workers: workersRouter,
  live: liveRouter,
  datasets: datasetsRouter,
  /** Database reachability and migration state (also served as GET /api/health). */
  health: publicProcedure.query(({ ctx }) => getHealth(ctx.prisma)),
  /** What the UI needs to know about the server: whether changes need a token. */
  meta: publicProcedure.query(({ ctx }) => ({ tokenRequired: !!ctx.requiredToken })),
});
export type AppRouter = typeof appRouter;

/** `createCaller(ctx)` runs procedures in-process (tests, server components, the CLI). */
export const createCaller = createCallerFactory(appRouter);

export { tokenFromHeaders, type Context } from "./trpc";
export { checkDashboardExposure, isLoopbackHost, MIN_EXPOSED_TOKEN_LENGTH, type ExposureInput } from "./exposure";
export {
  limitRequestBody,
  MAX_REQUEST_BYTES,
  MAX_SPEC_CHARS,
  RATE_LIMITS,
  RequestLimiter,
  serverRequestLimiter,
  SPEC_EXPANSION_BUDGET_MS,
} from "./request-limits";
export * from "./index-pure";
export { previewSpec, type SpecPreview, type PreviewRun } from "./spec";
export { loadStudyTables, type StudyTablesInput, type StudyTablesResult } from "./routers/evaluations";
export { type LiveEvent } from "./routers/live";
export { resultsCacheStats } from "./results-cache";
export * from "./reference";
export { gridSummaries } from "./routers/grids";
export { metricSeries } from "./routers/runs";
export { summarise, RUN_STATUSES, type StatusCounts, type ProgressSummary } from "./routers/shared";
