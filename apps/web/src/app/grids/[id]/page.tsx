import { GridPage } from "@/components/grid-page";
import { resultsInput } from "@/components/results-input";
import { getQueryClient, HydrateClient, prefetch, trpc } from "@/trpc/server";

export const metadata = { title: "Grid results" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The grid (awaited: a few milliseconds, and its header and the tables' outline render on the server)
 * and its default results tables (not awaited: they stream into this same response when ready).
 */
export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (UUID.test(id)) {
    prefetch(trpc.evaluations.studyTables.queryOptions(resultsInput(id)));
    await getQueryClient().prefetchQuery(trpc.grids.get.queryOptions({ id }));
  }
  return (
    <HydrateClient>
      <GridPage id={id} />
    </HydrateClient>
  );
}
