import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    local: 'src/local/index.ts',
    'local/worker': 'src/local/worker.ts',
    cli: 'src/local/cli.ts',
    openai: 'adapters/openai/index.ts',
    ai: 'adapters/ai/index.ts',
    langchain: 'adapters/langchain/index.ts',
    agents: 'adapters/agents/index.ts',
  },
  format: 'esm',
  dts: true,
  platform: 'neutral',
  // Node built-ins (the local backend) and workerd modules (the Durable Object stand-in) stay imports
  deps: { neverBundle: [/^node:/, /^cloudflare:/] },
  outDir: 'dist',
  clean: true,
})
