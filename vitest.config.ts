import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // At least two files at once: most suites wait on a local server or a store, not on the CPU (on 2 cores
    // vitest's default of one fewer than the cores runs them one by one: 505 s against 345 s for npm test).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], env: { POWERTOOLS_LOG_LEVEL: 'SILENT' } } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 } },
      // aws-cdk-lib takes seconds to load on 2 cores: synthesize once per file, generous timeouts.
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      // Kills the system's process hundreds of times (test/chaos/chaos.test.ts): a few minutes, on its own.
      { test: { name: 'chaos', include: ['test/chaos/**/*.test.ts'], testTimeout: 1_500_000, hookTimeout: 120_000 } },
      // Every answer an e2e suite observes is checked against openapi.json (test/support/contract.ts).
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          setupFiles: ['test/support/contract-setup.ts'],
          globalSetup: ['test/support/contract-tally.ts'],
        },
      },
    ],
  },
});
