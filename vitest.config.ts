import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Suites that time a real process under load (a burst, a frozen upstream): they run after
 * everything else, one file at a time, so another suite's servers do not share their CPU.
 */
const TIMED_ALONE = ['test/faults/burst.test.ts', 'test/faults/frozen-upstream.test.ts'];
/**
 * Suites that install and build the project from scratch (npm ci, tsc): minutes of both cores,
 * so they run last, alone, where they slow no other suite's servers.
 */
const BUILDS = ['test/deploy/dockerfile.test.ts'];
/**
 * The operator console in a real headless Chromium: a browser process and an embedded PostgreSQL
 * (PGlite) are heavy on a shared machine, so these run after the integration suites, one file at
 * a time, where they take no CPU from servers that other suites time.
 */
const BROWSER = ['test/console/**/*.test.ts'];

const shared = {
  resolve: {
    // Node gives every module graphql's CommonJS build ("main"); Vite would give our sources its
    // ES build ("module"), a second copy whose GraphQLError Apollo does not recognise. Tests must
    // load modules the way `npm start` does.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
};

export default defineConfig({
  ...shared,
  test: {
    globalSetup: ['test/support/record-node-version.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        ...shared,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          // The real-Unleash suites run with `npm run test:e2e` (vitest.e2e.config.ts), after npm test in CI.
          // …and the production topology suites with `npm run test:topology` (vitest.topology.config.ts).
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/topology/**', ...TIMED_ALONE, ...BUILDS, ...BROWSER],
          // Integration suites start real servers on loopback; keep files in parallel but bounded.
          maxWorkers: 2,
          testTimeout: 20_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        ...shared,
        test: {
          name: 'browser',
          include: BROWSER,
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 60_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        ...shared,
        test: {
          name: 'timed-alone',
          include: TIMED_ALONE,
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        ...shared,
        test: {
          name: 'builds',
          include: BUILDS,
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 60_000,
          hookTimeout: 600_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
