/**
 * Live updates end to end: an open grid page follows a run QUEUED → RUNNING → SUCCEEDED by server-sent
 * events, without a reload and without polling (no request to the API while nothing changes), and a
 * page reconnects after its server restarts.
 */
import { expect, test, type Page } from "@playwright/test";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startDashboard } from "./dashboard-process";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const DB = process.env.E2E_DATABASE_URL!;

const spec = (name: string) => `
name: ${name}
method: grid
parameters:
  regime: [synthetic-only]
  seed: [1]
defaults:
  train: { epochs: 1 }
`;

async function submit(page: Page, name: string): Promise<string> {
  const r = await page.request.post("/api/trpc/grids.submit", { data: { text: spec(name), fileName: `${name}.yaml` } });
  expect(r.status(), await r.text()).toBe(200);
  return ((await r.json()) as { result: { data: { id: string } } }).result.data.id;
}

/** The fixture worker (real queue functions), holding each run RUNNING for holdMs with progress beats. */
function runFixtureWorker(maxRuns: number, holdMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(web, "e2e", "fixture-worker.ts"), String(maxRuns), String(holdMs)], {
      cwd: web,
      env: { ...process.env, DATABASE_URL: DB },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("exit", (code) => (code === 0 ? resolve(log) : reject(new Error(`fixture worker exited ${code}:\n${log}`))));
  });
}

/** API requests the page makes, apart from its one event stream. */
function watchApiRequests(page: Page): { at: number; url: string }[] {
  const seen: { at: number; url: string }[] = [];
  page.on("request", (r) => {
    const url = r.url();
    if (url.includes("/api/trpc/") && !url.includes("live.changes")) seen.push({ at: Date.now(), url });
  });
  return seen;
}

const QUIET_MS = 6_000; // three times the old 2 s polling period

test("an open grid page follows a run QUEUED → RUNNING → SUCCEEDED without reloads or polling", async ({ page }) => {
  const gridId = await submit(page, `e2e-live-${Date.now().toString(36)}`);
  await page.goto(`/grids/${gridId}`);
  // A reload would start a new document: this mark would be gone.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "live");
  await page.getByRole("tab", { name: /Runs/ }).click();
  const status = page.getByTestId("runs-table").locator("tbody tr[data-run] [data-status]");
  await expect(status).toHaveAttribute("data-status", "QUEUED");
  await expect(page.getByTestId("grid-counts")).toContainText("1 queued");

  // Nothing changes: no request at all (the old page polled every 2 s).
  const requests = watchApiRequests(page);
  await page.waitForTimeout(QUIET_MS);
  expect(requests, "requests while nothing changed").toEqual([]);

  // A worker claims the run, beats with progress for 4 s, then completes it (its start-up — tsx, Prisma —
  // takes seconds on a busy machine: the timeouts allow for it; the page is not reloaded meanwhile).
  const events = async () => Number(await page.getByTestId("live-status").getAttribute("data-events"));
  const eventsBefore = await events();
  const worker = runFixtureWorker(1, 4000);
  await expect(status).toHaveAttribute("data-status", "RUNNING", { timeout: 60_000 });
  await expect(page.getByTestId("grid-counts")).toContainText("1 running");
  await expect(status).toHaveAttribute("data-status", "SUCCEEDED", { timeout: 60_000 });
  await worker;
  await expect(page.getByTestId("grid-counts")).toContainText("1 succeeded");
  expect(await events()).toBeGreaterThan(eventsBefore);

  // The results tab has the new numbers, and then all is quiet again.
  await page.getByRole("tab", { name: /Results/ }).click();
  await expect(page.getByTestId("results-test-time-mlp").locator('tr[data-row="synthetic-only"] td.cell .v').first()).toBeVisible();
  await page.waitForTimeout(1000);
  const settled = requests.length;
  await page.waitForTimeout(QUIET_MS);
  expect(requests.slice(settled), "requests after the run finished").toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), "the page never reloaded").toBe(
    true,
  );
});

test("a page reconnects after its server restarts and follows changes again", async ({ page }) => {
  test.setTimeout(420_000); // two more `next start`s, slow on a busy machine
  const own = await startDashboard(DB);
  let restarted: Awaited<ReturnType<typeof startDashboard>> | null = null;
  try {
    await page.goto(`${own.url}/`);
    const gridId = await submit(page, `e2e-restart-${Date.now().toString(36)}`);
    await page.goto(`${own.url}/grids/${gridId}`);
    const badge = page.getByTestId("live-status");
    await expect(badge).toHaveAttribute("data-state", "live");

    await own.stop();
    await expect(badge).toHaveAttribute("data-state", /reconnecting|offline/, { timeout: 20_000 });
    restarted = await startDashboard(DB, {}, { port: own.port });
    await expect(badge).toHaveAttribute("data-state", "live", { timeout: 30_000 });

    // A change after the restart reaches the page.
    const c = new pg.Client({ connectionString: DB });
    await c.connect();
    try {
      await c.query(`UPDATE "Run" SET status = 'CANCELED', "finishedAt" = now() WHERE "gridId" = $1`, [gridId]);
    } finally {
      await c.end();
    }
    await expect(page.getByTestId("grid-counts")).toContainText("1 canceled", { timeout: 10_000 });
  } finally {
    await restarted?.stop();
    await own.stop();
  }
});
