import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:topology`: the production topology (deploy/topology) under load — HAProxy,
 * 3 replicas from dist/, Redis with Sentinel, Unleash on PostgreSQL — one file at a time,
 * its scenarios in order on one topology. The Unleash scenario alone holds a 60 s outage.
 */
export default defineConfig({
  resolve: {
    // As in vitest.config.ts: one copy of graphql, the CommonJS build Node gives every module.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: ['test/topology/**/*.topology.test.ts'],
    globalSetup: ['test/support/record-node-version.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    // beforeAll builds dist/, may install unleash-server (up to 5 min on first use) and starts everything.
    hookTimeout: 480_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
