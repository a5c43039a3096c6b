import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/workerd/**',
      'test/agents/**',
      'test/examples/**',
      'test/playground/**',
      'node_modules/**',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
