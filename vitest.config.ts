import { defineConfig } from 'vitest/config';

// Unit tests (pure logic) and root integration tests (real kernel, built binaries) live side by side;
// each integration file owns its own network namespaces, so files may run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
