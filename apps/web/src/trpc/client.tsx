"use client";
/** The browser's tRPC client (TanStack Query integration) and the API token for changes. */
import type { AppRouter } from "@lml/api";
import { transformer } from "@lml/api/format";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type ReactNode } from "react";

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

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          // Bad input and missing rows will not fix themselves by retrying.
          queries: {
            staleTime: 2_000,
            retry: (n, err) => n < 2 && !/NOT_FOUND|BAD_REQUEST/.test(String((err as { data?: { code?: string } })?.data?.code)),
          },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: "/api/trpc",
          transformer,
          headers: () => {
            const token = getToken();
            return token ? { "x-lml-token": token } : {};
          },
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
