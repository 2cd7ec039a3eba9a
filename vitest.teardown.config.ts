import { defineConfig } from 'vitest/config';

// The last test `npm test` runs, alone: it brings the local cluster down (see its file).
export default defineConfig({
  test: {
    include: ['test/teardown/**/*.teardown.ts'],
    testTimeout: 180_000,
  },
});
