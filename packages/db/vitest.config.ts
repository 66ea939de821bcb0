import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@lml/db",
    include: ["test/**/*.test.ts"],
    // Each file starts an in-memory PGlite (about 3 s on this machine) and may create a PG database.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
