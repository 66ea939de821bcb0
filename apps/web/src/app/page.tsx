import { GridsPage } from "@/components/grids-page";

export const metadata = { title: "Grids" };

export default function Page() {
  return <GridsPage />;
}
