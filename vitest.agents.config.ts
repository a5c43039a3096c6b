/**
 * The Cloudflare Agents adapter inside workerd (`npm run test:agents`): agents built with
 * `withSandbox()` (test/agents/entry.ts), their `Sandbox` binding pointed at LocalSandboxDO, which
 * forwards to a loopback sandbox server started by the global setup — commands really run.
 */
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './test/agents/wrangler.jsonc' },
      miniflare: {
        bindings: {
          LOCAL_SANDBOX_URL: inject<string>('agentsSandboxUrl'),
          LOCAL_SANDBOX_TOKEN: inject<string>('agentsSandboxToken'),
        },
      },
    })),
  ],
  test: {
    include: ['test/agents/**/*.test.ts'],
    globalSetup: ['./test/agents/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
