import { defineConfig } from "vitest/config";

// Unit tests of the dashboard's pure helpers; the browser test (e2e/) runs under Playwright.
export default defineConfig({
  test: { name: "@lml/web", include: ["src/**/*.test.ts"], passWithNoTests: true },
});
