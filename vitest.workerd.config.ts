/**
 * Tests inside workerd (`npm run test:workerd`): a Worker using the real `getSandbox` from
 * `@cloudflare/sandbox`, its `Sandbox` binding pointed at LocalSandboxDO (test/workerd/wrangler.jsonc,
 * environment `local`), which forwards to a loopback sandbox server started by the global setup.
 */
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './test/workerd/wrangler.jsonc', environment: 'local' },
      miniflare: {
        bindings: {
          LOCAL_SANDBOX_URL: inject<string>('localSandboxUrl'),
          LOCAL_SANDBOX_TOKEN: inject<string>('localSandboxToken'),
        },
      },
    })),
  ],
  test: {
    include: ['test/workerd/**/*.test.ts'],
    globalSetup: ['./test/workerd/global-setup.ts'],
    // LocalSandbox-only semantics (a destroyed handle keeps failing); the stand-in follows
    // Cloudflare instead (fresh sandbox on the next call) — see test/workerd/conformance.test.ts
    testNamePattern: /^(?!.*later calls fail with SANDBOX_DESTROYED)/,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
