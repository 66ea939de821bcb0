import { appRouter, limitRequestBody } from "@lml/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext } from "@/server/context";

export const dynamic = "force-dynamic";

async function handler(request: Request) {
  // The fetch adapter reads any body whole: cap it first (413 naming the bound; issue 16.3).
  const req = await limitRequestBody(request);
  if (req instanceof Response) return req;
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext(req),
    onError({ error, path }) {
      // Bugs (not bad input) go to the server log with their stack.
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"}:`, error.cause ?? error);
    },
  });
}

export { handler as GET, handler as POST };
