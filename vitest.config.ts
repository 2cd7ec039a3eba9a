import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests drive the real engine and cluster: seconds per operation.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
