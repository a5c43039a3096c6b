/**
 * The example Workers in workerd (`npm run test:examples`): one project per example, each run from
 * its own examples/<name>/wrangler.jsonc in the `local` environment — `Sandbox` bound to
 * LocalSandboxDO, which forwards to the loopback sandbox server the global setup starts — with the
 * model served by a scripted OpenAI Responses fixture on 127.0.0.1. Commands really run.
 */
import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'
import { API_KEY, MODEL } from './test/examples/task.js'

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/**
 * `sandbox-agent-tools/*` → the sources, as the examples' wrangler.jsonc `alias` does for wrangler
 * (the vitest plugin does not read `alias`). Exact matches, most specific first.
 */
const alias = [
  { find: /^sandbox-agent-tools\/openai$/, replacement: source('./adapters/openai/index.ts') },
  { find: /^sandbox-agent-tools\/ai$/, replacement: source('./adapters/ai/index.ts') },
  { find: /^sandbox-agent-tools\/langchain$/, replacement: source('./adapters/langchain/index.ts') },
  { find: /^sandbox-agent-tools\/agents$/, replacement: source('./adapters/agents/index.ts') },
  { find: /^sandbox-agent-tools\/local\/worker$/, replacement: source('./src/local/worker.ts') },
  { find: /^sandbox-agent-tools$/, replacement: source('./src/index.ts') },
]

export const EXAMPLES = ['openai-agents', 'ai-sdk', 'langchain', 'agents'] as const

function project(name: (typeof EXAMPLES)[number]): TestProjectInlineConfiguration {
  return {
    resolve: { alias },
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: `./examples/${name}/wrangler.jsonc`, environment: 'local' },
        miniflare: {
          bindings: {
            LOCAL_SANDBOX_URL: inject('examplesSandboxUrl'),
            LOCAL_SANDBOX_TOKEN: inject('examplesSandboxToken'),
            OPENAI_BASE_URL: inject('examplesModelUrl'),
            OPENAI_API_KEY: API_KEY,
            OPENAI_MODEL: MODEL,
          },
        },
      })),
    ],
    test: {
      name,
      // the shared NDJSON writer is tested once, with the lightest example
      include: [
        `test/examples/${name}.test.ts`,
        ...(name === 'ai-sdk' ? ['test/examples/events.test.ts'] : []),
      ],
      globalSetup: ['./test/examples/global-setup.ts'],
      // @openai/agents alone takes ~5 s to import in workerd; a run is a dozen model and sandbox calls
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  }
}

export default defineConfig({
  test: { projects: EXAMPLES.map(project) },
})
