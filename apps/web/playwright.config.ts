import { defineConfig } from "@playwright/test";

// Run through `npm run e2e` (e2e/run.mjs), which starts the database and the production server and
// passes their URLs. Debian's chromium, never a downloaded browser.
export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  timeout: 240_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results/playwright",
  use: {
    baseURL: process.env.E2E_BASE_URL,
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    },
  },
});
