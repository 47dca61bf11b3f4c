import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "runtime/**/*.test.ts",
      "components/**/*.test.ts",
      "stacks/**/*.test.ts",
      "policies/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/**/*.test.ts",
      "images/**/*.test.ts",
    ],
    exclude: ["node_modules/**", ".framefleet/**"],
    // integration tests run real ffmpeg jobs through a whole region; two cores are shared by two test files
    testTimeout: 240_000,
    hookTimeout: 120_000,
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // integration tests start servers and ffmpeg processes; two cores is the budget
    maxWorkers: 2,
  },
});
