import { defineConfig } from 'vitest/config'

/** The browser suite (`npm run test:e2e`): builds the web app once, then drives Debian Chromium. */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One browser and one server per file; files run one at a time on a 2-core machine.
    fileParallelism: false,
  },
})
