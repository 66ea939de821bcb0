import { RunsTable } from "@/components/runs-table";

export const metadata = { title: "Runs" };

export default function Page() {
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Runs</h1>
          <div className="sub">Every run of every grid. Tick two or more to compare them.</div>
        </div>
      </div>
      <RunsTable />
    </div>
  );
}
