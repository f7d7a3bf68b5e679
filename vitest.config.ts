import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node gives every module graphql's CommonJS build ("main"); Vite would give our sources its
    // ES build ("module"), a second copy whose GraphQLError Apollo does not recognise. Tests must
    // load modules the way `npm start` does.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/record-node-version.ts'],
    // The real-Unleash suites run with `npm run test:e2e` (vitest.e2e.config.ts), after npm test in CI.
    exclude: [...configDefaults.exclude, 'test/e2e/**'],
    // Integration suites start real servers on loopback; keep files in parallel but bounded.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
