import { defineConfig } from "vitest/config";

// Router tests share one migrated database per file; DB start-up can take a few seconds on PGlite.
export default defineConfig({
  test: { name: "@lml/api", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
});
