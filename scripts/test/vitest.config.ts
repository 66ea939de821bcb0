import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "scripts",
    include: ["*.test.ts"],
    // Starts `npm start` and `lml work` as real processes: seconds each on two shared cores.
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
