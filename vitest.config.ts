import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each integration file starts its own embedded stack; in forks each file's stack, emulators and module
    // state live in a process of their own, and a crash ends only that file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/reliability-reporter.ts', './test/support/summary-reporter.ts'],
  },
});
