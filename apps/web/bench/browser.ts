/**
 * What the bench measures in Chromium (Debian's, never a downloaded one): the results page's first
 * render, the virtualised runs list, and how long a run's status change takes to reach an open page
 * by server-sent events.
 */
import { chromium, type Browser } from "@playwright/test";
import pg from "pg";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return Math.round(s[i] * 100) / 100;
}

const NUMBER = '[data-testid="results-test-time-mlp"] td.cell .v';
const SHELL = '[data-testid^="results-shell-"], [data-testid^="results-"] table';

/** Navigation start → the tables' outline, and → the first number of the test-time-MLP table. */
export async function firstRender(browser: Browser, url: string, gridId: string, loads: number) {
  const numbers: number[] = [];
  const shells: number[] = [];
  const fcps: number[] = [];
  for (let i = 0; i < loads; i++) {
    // A fresh context per load: no HTTP cache, no client-side query cache.
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    const t = performance.now();
    const shell = page
      .locator(SHELL)
      .first()
      .waitFor({ state: "visible", timeout: 120_000 })
      .then(() => performance.now() - t);
    await page.goto(`${url}/grids/${gridId}`);
    await page.locator(NUMBER).first().waitFor({ state: "visible", timeout: 120_000 });
    numbers.push(performance.now() - t);
    shells.push(await shell);
    fcps.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
    await ctx.close();
  }
  return {
    // Navigation start → first results number visible (tables built from all the runs' evaluations).
    firstRenderMs: { cold: Math.round(numbers[0]), p50: quantile(numbers, 0.5), max: Math.round(Math.max(...numbers)) },
    shellMs: { p50: quantile(shells, 0.5) },
    firstContentfulPaintMs: quantile(fcps.filter(Number.isFinite), 0.5),
    loads,
  };
}

/** The Runs tab: first row, rows in the page (virtualised: a window, not all), scroll to the last run. */
export async function runsList(browser: Browser, url: string, gridId: string, total: number) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  try {
    await page.goto(`${url}/grids/${gridId}`);
    await page.getByRole("tab", { name: /Runs/ }).waitFor();
    const t = performance.now();
    await page.getByRole("tab", { name: /Runs/ }).click();
    await page.locator("tr[data-run]").first().waitFor({ timeout: 60_000 });
    const firstRowMs = performance.now() - t;
    const rowsInPage = await page.locator("tr[data-run]").count();
    const t2 = performance.now();
    await page.getByTestId("runs-scroll").evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await page.locator(`tr[data-index="${total - 1}"][data-run]`).waitFor({ timeout: 60_000 });
    const scrollToLastMs = performance.now() - t2;
    return { firstRowMs: Math.round(firstRowMs), rowsInPage, scrollToLastMs: Math.round(scrollToLastMs), total };
  } finally {
    await ctx.close();
  }
}

/**
 * A run's status flips (SUCCEEDED → FAILED → SUCCEEDED) in the database while the grid page is open;
 * each time, the time from the committed UPDATE to the page's status counts showing it (observed in
 * the page, same machine clock). The run is left as it was.
 */
export async function sseLatency(browser: Browser, url: string, gridId: string, dbUrl: string, samples: number) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const runId = (await c.query<{ id: string }>(`SELECT id FROM "Run" WHERE "gridId" = $1 ORDER BY "createdAt" DESC LIMIT 1`, [gridId]))
    .rows[0].id;
  const latencies: number[] = [];
  try {
    await page.goto(`${url}/grids/${gridId}`);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 60_000 });
    await page.locator(NUMBER).first().waitFor({ timeout: 120_000 });
    for (let i = 0; i < samples; i++) {
      for (const [to, want] of [
        ["FAILED", "1 failed"],
        ["SUCCEEDED", "0 failed"],
      ] as const) {
        // Record in the page when the counts first show `want`.
        await page.evaluate((text) => {
          const w = window as unknown as { __seenAt?: number };
          w.__seenAt = undefined;
          // Watch the whole page: React may replace the element rather than its text. (No named helper
          // functions in here: tsx's keepNames would wrap them in a __name() the page does not have.)
          const obs = new MutationObserver(() => {
            if (document.querySelector('[data-testid="grid-counts"] [data-status="FAILED"]')?.textContent?.includes(text)) {
              w.__seenAt = Date.now();
              obs.disconnect();
            }
          });
          obs.observe(document.body, { childList: true, characterData: true, subtree: true });
        }, want);
        await c.query(`UPDATE "Run" SET status = $2::"RunStatus" WHERE id = $1`, [runId, to]);
        const committed = Date.now();
        const seen = await page.waitForFunction(() => (window as unknown as { __seenAt?: number }).__seenAt, null, { timeout: 30_000 });
        latencies.push(Number(await seen.jsonValue()) - committed);
        await page.waitForTimeout(300);
      }
    }
  } finally {
    await c.query(`UPDATE "Run" SET status = 'SUCCEEDED' WHERE id = $1`, [runId]);
    await c.end();
    await ctx.close();
  }
  return { p50Ms: quantile(latencies, 0.5), maxMs: Math.round(Math.max(...latencies)), samples: latencies.length };
}
