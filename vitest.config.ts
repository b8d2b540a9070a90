import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ once when stale: the CLI tests run the compiled service.
    globalSetup: ["test/helpers/build.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Suites start real servers on free ports; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
