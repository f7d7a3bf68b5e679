import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: suites against a real unleash-server (installed into .e2e/unleash on first
 * run) and PostgreSQL. One file at a time in one worker: each suite owns a server and its
 * timing assertions should not compete with another suite's server for the CPU.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    globalSetup: ['test/support/record-node-version.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    // beforeAll may install unleash-server (≈45 s, up to the helper's 5 min bound) and start it.
    hookTimeout: 420_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
