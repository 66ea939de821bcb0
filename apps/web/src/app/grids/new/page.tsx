import { NewGridPage } from "@/components/new-grid-page";

export const metadata = { title: "New grid" };

export default function Page() {
  return <NewGridPage />;
}
