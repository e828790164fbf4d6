import { defineConfig } from 'vitest/config';

// The tests run the built CLI (dist/) in real child processes: `npm run build` first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
