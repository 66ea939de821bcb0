import { defineConfig } from "vitest/config";

// One vitest process runs every workspace's tests (each package may add its own vitest.config.ts).
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/cli", "apps/trainer", "apps/web", "scripts/peers", "scripts/test"],
  },
});
