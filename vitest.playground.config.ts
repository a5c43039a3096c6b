import { defineConfig } from 'vitest/config'

// The playground runs four wrangler dev processes and a browser: on its own, after the other suites,
// so it does not compete with them for the machine.
export default defineConfig({
  test: {
    include: ['test/playground/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
})
