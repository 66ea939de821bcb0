/**
 * The dashboard end to end on a production build: submit a tiny grid through the form, a worker runs
 * it, the results tables show the numbers the database holds, the heatmap has one mark per landmark,
 * the CSV export carries the same numbers. Screenshots of every page go to test-results/.
 */
import { expect, test, type Page } from "@playwright/test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(web, "..", "..");
const shots = join(web, "test-results");
mkdirSync(shots, { recursive: true });
const DB = process.env.E2E_DATABASE_URL!;
/** The regimes the tiny grid trains, one seed each (E2E_REGIMES=a,b,… to choose others). */
const REGIMES = (process.env.E2E_REGIMES ?? "synthetic-only,syn-real-label-adaptation,supervised-real").split(",");
const REGIME_ORDER: Record<string, true> = {
  "synthetic-only": true,
  "syn-real-label-adaptation": true,
  "uda-discriminator": true,
  "supervised-real": true,
};

/** The real worker once the trainer has one; E2E_WORKER=fixture forces the stand-in (see fixture-worker.ts). */
const realWorker =
  process.env.E2E_WORKER === "real" ||
  (process.env.E2E_WORKER !== "fixture" && existsSync(join(root, "apps", "trainer", "src", "commands", "work.ts")));

async function shot(page: Page, name: string) {
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

function runWorker(maxRuns: number): Promise<string> {
  const [cmd, args] = realWorker
    ? ["npm", ["run", "-s", "lml", "--", "work", "--idle-exit", "--max-runs", String(maxRuns)]]
    : [process.execPath, ["--import", "tsx", join(web, "e2e", "fixture-worker.ts"), String(maxRuns)]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], {
      cwd: realWorker ? root : web,
      env: { ...process.env, DATABASE_URL: DB },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(log);
      else reject(new Error(`worker (${realWorker ? "lml work" : "fixture"}) exited ${code}:\n${log.slice(-4000)}`));
    });
  });
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

type EvalRow = { runId: string; regime: string; testSet: string; protocol: string; norm: string; nme: number; n: number };

/** What a table cell must show, straight from the database: mean NME over the row's runs. */
function expectedCell(rows: EvalRow[], regime: string, testSet: string, protocol: string): number | null {
  const runs = [...new Set(rows.filter((r) => r.regime === regime).map((r) => r.runId))];
  const values: number[] = [];
  for (const run of runs) {
    const order = [protocol, "direct", ...(testSet === "synthetic-test" ? ["dense"] : [])];
    const e = order.map((p) => rows.find((r) => r.runId === run && r.testSet === testSet && r.protocol === p)).find(Boolean);
    if (e) values.push(e.nme);
  }
  return values.length ? values.reduce((s, x) => s + x, 0) / values.length : null;
}

/** RFC 4180 lines (quoted fields may hold commas and doubled quotes). */
function parseCsv(text: string): string[][] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const out: string[] = [];
      let cur = "";
      let quoted = false;
      for (let i = 0; i < line.length; i++) {
        const ch = line[i];
        if (quoted) {
          if (ch === '"' && line[i + 1] === '"') {
            cur += '"';
            i++;
          } else if (ch === '"') quoted = false;
          else cur += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === ",") {
          out.push(cur);
          cur = "";
        } else cur += ch;
      }
      out.push(cur);
      return out;
    });
}

test("submit a grid, run it, read the results, the heatmap and the export", async ({ page }) => {
  const name = `e2e-tiny-${Date.now().toString(36)}`;

  // Grids: the empty state first (fresh database).
  await page.goto("/");
  await expect(page.getByText("No grids yet")).toBeVisible();
  await shot(page, "01-grids-empty");

  // New grid through the form: two regimes, one seed, tiny everything.
  await page.goto("/grids/new");
  await page.locator('input[name="name"]').fill(name);
  for (const r of Object.keys(REGIME_ORDER)) {
    const box = page.locator(`input[name="regime-${r}"]`);
    if (REGIMES.includes(r)) await box.check();
    else await box.uncheck();
  }
  await page.locator('input[name="seeds"]').fill("1");
  await page.locator('select[name="scheme"]').selectOption("243");
  const fields: Record<string, string> = {
    epochs: "1",
    batchSize: "4",
    inputSize: "32",
    stacks: "1",
    channels: "8",
    syntheticTrain: "8",
    syntheticTest: "4",
    realTrain: "4",
    realCommon: "4",
    realChallenging: "4",
  };
  for (const [k, v] of Object.entries(fields)) await page.locator(`input[name="${k}"]`).fill(v);
  await expect(page.getByTestId("spec-status")).toContainText(`Valid: ${REGIMES.length} runs`);
  await expect(page.getByTestId("preview-table").locator("tbody tr")).toHaveCount(REGIMES.length);
  await shot(page, "02-new-grid");
  // A broken spec in the YAML editor names the field.
  const editor = page.getByLabel("Grid spec YAML");
  const good = await editor.inputValue();
  await editor.fill(good.replace("epochs: 1", "epochs: -3"));
  await expect(page.getByTestId("spec-status")).toContainText("defaults.train.epochs");
  await expect(page.getByTestId("submit-grid")).toBeDisabled();
  await editor.fill(good);
  await expect(page.getByTestId("spec-status")).toContainText(`Valid: ${REGIMES.length} runs`);
  await page.getByTestId("submit-grid").click();
  await page.waitForURL(/\/grids\/[0-9a-f-]{36}$/);
  const gridId = page.url().split("/").pop()!;
  await expect(page.getByTestId("grid-counts")).toContainText(`${REGIMES.length} queued`);

  // A worker trains both runs.
  const workerLog = await runWorker(REGIMES.length);
  const status = await query<{ status: string; error: string | null; attemptErrors: unknown }>(
    `SELECT status::text, error, "attemptErrors" FROM "Run" WHERE "gridId" = $1`,
    [gridId],
  );
  expect(
    status.map((s) => s.status),
    `runs: ${JSON.stringify(status)}\nworker log:\n${workerLog.slice(-3000)}`,
  ).toEqual(REGIMES.map(() => "SUCCEEDED"));

  // Results: each shown cell equals the database's mean for that regime / test set / protocol.
  await page.reload();
  await expect(page.getByTestId("results-nearest-subset")).toBeVisible();
  const rows = await query<EvalRow>(
    `SELECT e."runId", r.regime, e."testSet", e.protocol, e.norm, e.nme, e.count AS n FROM "Evaluation" e JOIN "Run" r ON r.id = e."runId"
     WHERE r."gridId" = $1 AND e.norm = 'inter-pupil'`,
    [gridId],
  );
  expect(rows.length).toBeGreaterThan(0);
  let checked = 0;
  for (const protocol of ["nearest-subset", "test-time-mlp"]) {
    const table = page.getByTestId(`results-${protocol}`);
    for (const regime of REGIMES) {
      for (const testSet of ["synthetic-test", "common", "challenging"]) {
        const want = expectedCell(rows, regime, testSet, protocol);
        const cell = table.locator(`tr[data-row="${regime}"] td[data-testset="${testSet}"]`);
        if (want === null) {
          await expect(cell).toHaveText("no data");
          continue;
        }
        await expect(cell.locator(".v")).toHaveText(want.toFixed(3));
        expect(Number(await cell.locator("[data-mean]").getAttribute("data-mean"))).toBeCloseTo(want, 9);
        checked++;
      }
    }
  }
  expect(checked).toBeGreaterThanOrEqual(6);
  await shot(page, "03-grid-results");

  // Reference rows (the study's published tables) sit below the runs, apart, and can be hidden.
  const refs = page.getByTestId("results-nearest-subset").locator("tr[data-reference]");
  await expect(refs.first()).toBeVisible();
  await expect(
    page.getByTestId("results-nearest-subset").locator('tr[data-reference="published:table1:synthetic-only"] td.refcell').nth(1),
  ).toHaveText("8.438");
  await page.getByTestId("toggle-references").uncheck();
  await expect(refs).toHaveCount(0);

  // CSV export: the same numbers (what the page shows: without the hidden reference rows).
  const download = page.waitForEvent("download");
  await page.getByTestId("export-csv").click();
  const file = await (await download).path();
  const csv = parseCsv(readFileSync(file, "utf8"));
  const header = csv[0];
  for (const line of csv.slice(1)) {
    const [protocol, , regime] = line;
    for (const testSet of ["synthetic-test", "common", "challenging"]) {
      const v = line[header.indexOf(`${testSet}_mean`)];
      const want = expectedCell(rows, regime, testSet, protocol);
      if (want === null) expect(v).toBe("");
      else expect(Number(v)).toBeCloseTo(want, 9);
    }
  }
  expect(csv.length).toBe(1 + 2 * REGIMES.length);

  // Inter-ocular switch changes the numbers to that norm's.
  await page.getByRole("radio", { name: "inter-ocular" }).click();
  const ioRows = await query<EvalRow>(
    `SELECT e."runId", r.regime, e."testSet", e.protocol, e.norm, e.nme, e.count AS n FROM "Evaluation" e JOIN "Run" r ON r.id = e."runId"
     WHERE r."gridId" = $1 AND e.norm = 'inter-ocular'`,
    [gridId],
  );
  const io = expectedCell(ioRows, REGIMES[0], "common", "test-time-mlp");
  await expect(page.getByTestId("results-test-time-mlp").locator(`tr[data-row="${REGIMES[0]}"] td[data-testset="common"] .v`)).toHaveText(
    io!.toFixed(3),
  );

  // Runs tab, then one run: the heatmap has one mark per landmark of its evaluation.
  await page.getByRole("tab", { name: /Runs/ }).click();
  await expect(page.getByTestId("runs-table").locator("tbody tr")).toHaveCount(REGIMES.length);
  await shot(page, "04-grid-runs");
  const runIds = await query<{ id: string; regime: string }>(`SELECT id, regime FROM "Run" WHERE "gridId" = $1 ORDER BY "createdAt"`, [
    gridId,
  ]);
  await page.goto(`/runs/${runIds[0].id}`);
  await expect(page.getByTestId("run-evaluations")).toBeVisible();
  const maps = page.getByTestId("heatmap");
  await expect(maps.first()).toBeVisible();
  const lm = await query<{ protocol: string; len: number }>(
    `SELECT protocol, array_length("perLandmark", 1) AS len FROM "Evaluation" WHERE "runId" = $1 AND "testSet" = 'common' AND norm = 'inter-pupil'`,
    [runIds[0].id],
  );
  const sparseLen = lm.find((l) => l.protocol === "test-time-mlp")?.len ?? lm[0].len;
  await expect(maps.first().locator(".lm-mark")).toHaveCount(sparseLen);
  await maps.first().locator(".lm-mark").nth(36).hover();
  await expect(maps.first().locator(".tip")).toContainText("#36");
  await shot(page, "05-run");
  // The dense scheme (synthetic test set) beside it.
  const dense = await query<{ len: number }>(
    `SELECT array_length("perLandmark", 1) AS len FROM "Evaluation" WHERE "runId" = $1 AND "testSet" = 'synthetic-test' AND protocol = 'dense' AND norm = 'inter-pupil'`,
    [runIds[0].id],
  );
  if (dense[0]?.len) {
    await expect(page.getByTestId("heatmap").last().locator(".lm-mark")).toHaveCount(dense[0].len);
    await page.getByTestId("heatmap").last().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, "06-run-heatmaps.png") });
  }

  // Compare both runs.
  await page.goto(`/compare?ids=${runIds.map((r) => r.id).join(",")}`);
  await expect(page.getByTestId("config-diff")).toContainText("regime");
  await expect(page.getByTestId("heatmap").first().locator(".lm-mark")).toHaveCount(sparseLen);
  await shot(page, "07-compare");

  // Grids list after the work; workers page; health.
  await page.goto("/");
  await expect(page.locator(`tr[data-grid="${gridId}"]`)).toContainText(`${REGIMES.length} succeeded`);
  await shot(page, "08-grids");
  await page.goto("/workers");
  await page.getByLabel("include stopped").check();
  await shot(page, "09-workers");
  const health = await page.request.get("/api/health");
  expect(health.status()).toBe(200);
  expect((await health.json()).migrations.upToDate).toBe(true);
});

test("designed empty and error states", async ({ page }) => {
  await page.goto("/grids/00000000-0000-4000-8000-000000000000");
  await expect(page.locator(".error-box")).toContainText("no grid");
  await shot(page, "10-grid-not-found");
  await page.goto("/compare?ids=nope");
  await expect(page.getByText("Not run ids: nope")).toBeVisible();
});
