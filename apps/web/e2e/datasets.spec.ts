/**
 * The Datasets page on the production build: the known datasets with their splits and counts; with the
 * shared 300-W crops present (../shared/datasets/300w128, the default LML_DATASETS), its page shows
 * "no data" for the challenging split it lacks, a contact sheet that loads, and its SOURCE.md; the
 * New-grid form offers it as the real data source beside the SIMULATED proxy-real default. Without the
 * shared folder, the designed empty state.
 */
import { expect, test } from "@playwright/test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const shared = existsSync(join(root, "..", "shared", "datasets", "300w128", "train")) && process.env.LML_DATASETS === undefined;

test("datasets: list, one dataset's splits, contact sheet and terms, and the New-grid source picker", async ({ page }) => {
  await page.goto("/datasets");
  await expect(page.getByRole("heading", { name: "Datasets" })).toBeVisible();
  if (!shared) {
    await expect(page.getByText("No real datasets found")).toBeVisible();
    return;
  }
  const row = page.getByTestId("datasets-table").locator("tr", { hasText: "300w128" });
  await expect(row).toContainText("1812");
  await expect(row).toContainText("554");
  await expect(row).toContainText("no data");
  await expect(page.getByTestId("datasets-table")).toContainText("SIMULATED");

  await row.getByRole("link", { name: "300w128" }).click();
  await expect(page.getByRole("heading", { name: "300w128" })).toBeVisible();
  await expect(page.getByText("No challenging split")).toBeVisible();
  await expect(page.getByText("research purposes ONLY")).toBeVisible();
  const sheet = page.getByTestId("dataset-sheet");
  await expect
    .poll(() => sheet.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 60_000 })
    .toBeGreaterThan(0);

  await page.goto("/grids/new");
  const select = page.getByTestId("real-source");
  await expect(select).toContainText("proxy-real — SIMULATED");
  await select.selectOption({ label: await select.locator("option", { hasText: "300w128" }).innerText() });
  await expect(page.getByLabel("Grid spec YAML")).toHaveValue(/source: 300w/);
  await expect(page.getByTestId("spec-status")).toContainText("Valid");
});
