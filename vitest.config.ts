import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-Unleash suites run with `npm run test:e2e` (vitest.e2e.config.ts), after npm test in CI.
    exclude: [...configDefaults.exclude, 'test/e2e/**'],
    // Integration suites start real servers on loopback; keep files in parallel but bounded.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
