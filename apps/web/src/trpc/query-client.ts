/**
 * One QueryClient recipe for the server (a fresh one per request, to prefetch and stream) and the browser
 * (one per tab). Pending queries are dehydrated too: a server component starts a query without waiting
 * for it, and its result streams into the same response (TanStack Query's "streaming with server
 * components").
 */
import { defaultShouldDehydrateQuery, QueryClient } from "@tanstack/react-query";
import { transformer } from "@lml/api/format";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Live updates (server-sent events) invalidate what changed; nothing is refetched on a timer.
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // Bad input and missing rows will not fix themselves by retrying.
        retry: (n, err) => n < 2 && !/NOT_FOUND|BAD_REQUEST/.test(String((err as { data?: { code?: string } })?.data?.code)),
      },
      dehydrate: {
        serializeData: transformer.serialize,
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: { deserializeData: transformer.deserialize },
    },
  });
}
