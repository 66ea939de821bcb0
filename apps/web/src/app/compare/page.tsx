import { Suspense } from "react";
import { ComparePage } from "@/components/compare-page";

export const metadata = { title: "Compare runs" };

export default function Page() {
  return (
    <Suspense>
      <ComparePage />
    </Suspense>
  );
}
