import { GridPage } from "@/components/grid-page";

export const metadata = { title: "Grid results" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <GridPage id={id} />;
}
