import { defineProject } from "vitest/config";

// Rendering tests build the head model once per worker (a few seconds on a busy machine).
export default defineProject({
  test: { name: "synth", include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
});
