import { DatasetPage } from "@/components/dataset-page";

export const metadata = { title: "Dataset" };

export default async function Page({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  return <DatasetPage name={decodeURIComponent(name)} />;
}
