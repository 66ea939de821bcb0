import { DatasetsPage } from "@/components/datasets-page";

export const metadata = { title: "Datasets" };

export default function Page() {
  return <DatasetsPage />;
}
