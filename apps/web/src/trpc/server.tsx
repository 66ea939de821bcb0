/**
 * Server components' side of tRPC: the same procedures called in-process (no HTTP), their results put
 * in a per-request QueryClient and streamed to the page with `<HydrateClient>`. `prefetch` starts a
 * query without waiting: the page's shell renders at once and the data follows in the same response.
 */
import { appRouter } from "@lml/api";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { createTRPCOptionsProxy, type TRPCQueryOptions } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { cache, type ReactNode } from "react";
import { createContext } from "@/server/context";
import { makeQueryClient } from "./query-client";

/** One QueryClient per request (React's cache() lives as long as one server render). */
export const getQueryClient = cache(makeQueryClient);

export const trpc = createTRPCOptionsProxy({
  router: appRouter,
  queryClient: getQueryClient,
  ctx: async () => createContext(new Request("http://server.local/", { headers: await headers() })),
});

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}

/** Starts the query on the server; its result (or its error) reaches the page's client cache. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prefetch<T extends ReturnType<TRPCQueryOptions<any>>>(queryOptions: T): void {
  void getQueryClient().prefetchQuery(queryOptions);
}
