"use client";
/**
 * The browser's tRPC client (TanStack Query integration), the API token for changes, and the live
 * updates: queries go over HTTP batches, the `live.changes` subscription over server-sent events.
 */
import type { AppRouter } from "@lml/api";
import { transformer } from "@lml/api/format";
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchStreamLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type ReactNode } from "react";
import { makeQueryClient } from "./query-client";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
export type Outputs = inferRouterOutputs<AppRouter>;

const TOKEN_KEY = "lml-token";
export function getToken(): string {
  return typeof window === "undefined" ? "" : (window.localStorage.getItem(TOKEN_KEY) ?? "");
}
export function setToken(token: string) {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
}

let browserQueryClient: QueryClient | undefined;
/** A new client per server render; one per browser tab (so a suspended first render does not lose it). */
function getQueryClient(): QueryClient {
  if (typeof window === "undefined") return makeQueryClient();
  return (browserQueryClient ??= makeQueryClient());
}

export function Providers({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === "subscription",
          // EventSource reconnects by itself; tRPC sends the last event id so the server can say "resync".
          true: httpSubscriptionLink({ url: "/api/trpc", transformer }),
          // Streamed batches: a slow answer in a batch (tables being rebuilt) does not hold back the others.
          false: httpBatchStreamLink({
            url: "/api/trpc",
            transformer,
            headers: () => {
              const token = getToken();
              return token ? { "x-lml-token": token } : {};
            },
          }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
