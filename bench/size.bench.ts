/**
 * P5 — what each adapter adds to a bundle. esbuild bundles each `adapters/<name>/index.ts` (ESM,
 * minified) with the frameworks, zod and @cloudflare/* left out (the app has them anyway): once with
 * `src/` left out too (the adapter's own code) and once with the core it pulls in. Then a Worker:
 * `wrangler deploy --dry-run --minify` of a bare `getSandbox` Worker, of the same with the AI SDK's
 * tool helpers and zod, and of the same with this library's session + AI SDK ToolSet
 * (bench/worker/*.ts; the container image is a registry reference, so no Docker).
 * Alone: npx tsx bench/size.bench.ts
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import { isMain, kib, progress, type Row, table } from './lib.js'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..')
const ADAPTERS = ['openai', 'ai', 'langchain', 'agents']
const FRAMEWORKS = [
  '@openai/agents',
  '@openai/agents-*',
  'ai',
  '@ai-sdk/*',
  '@langchain/*',
  'langchain',
  'agents',
  'agents/*',
  '@cloudflare/*',
  'zod',
  'zod/*',
]

/** Leaves every import that resolves into src/ out of the bundle. */
const coreExternal: Plugin = {
  name: 'core-external',
  setup(b) {
    b.onResolve({ filter: /\/src\// }, (args) => ({ path: args.path, external: true }))
  },
}

async function bundle(entry: string, withCore: boolean): Promise<{ min: number; gzip: number }> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    external: FRAMEWORKS,
    plugins: withCore ? [] : [coreExternal],
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]!.contents
  return { min: code.byteLength, gzip: gzipSync(code).byteLength }
}

async function worker(name: string): Promise<{ min: number; gzip: number } | string> {
  const out = mkdtempSync(join(tmpdir(), `bench-worker-${name}-`))
  try {
    await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/wrangler'),
      [
        'deploy',
        '--dry-run',
        '--minify',
        '--outdir',
        out,
        '-c',
        join(ROOT, `bench/worker/wrangler.${name}.jsonc`),
      ],
      { cwd: ROOT, env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' }, timeout: 120_000 },
    )
    const js = readdirSync(out).filter((f) => f.endsWith('.js'))
    const bytes = Buffer.concat(js.map((f) => readFileSync(join(out, f))))
    return { min: bytes.byteLength, gzip: gzipSync(bytes).byteLength }
  } catch (error) {
    return `wrangler failed: ${String((error as Error).message).split('\n')[0]}`
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

export async function benchSize(): Promise<Row[]> {
  progress('P5 bundle sizes (esbuild, wrangler --dry-run)')
  const rows: Row[] = []
  const core = await bundle('src/index.ts', true)
  rows.push({
    id: 'P5',
    measure: 'core (src/index.ts), minified',
    value: kib(core.min),
    versus: `gzip ${kib(core.gzip)}`,
  })
  for (const name of ADAPTERS) {
    const own = await bundle(`adapters/${name}/index.ts`, false)
    const all = await bundle(`adapters/${name}/index.ts`, true)
    rows.push({
      id: 'P5',
      measure: `adapter ${name}: its own code, minified`,
      value: kib(own.min),
      versus: `gzip ${kib(own.gzip)}; with the core it pulls in: ${kib(all.min)} (gzip ${kib(all.gzip)})`,
      goal: '≤ 15 KiB',
    })
  }
  const [bare, framework, adapter] = await Promise.all([
    worker('bare'),
    worker('framework'),
    worker('adapter'),
  ])
  if (typeof bare === 'string' || typeof framework === 'string' || typeof adapter === 'string') {
    rows.push({
      id: 'P5',
      measure: 'Worker bundle delta',
      value: 'not measured',
      versus: [bare, framework, adapter].find((r) => typeof r === 'string') as string,
    })
    return rows
  }
  rows.push({
    id: 'P5',
    measure: 'Worker: bare getSandbox, wrangler --minify',
    value: kib(bare.min),
    versus: `gzip ${kib(bare.gzip)}`,
  })
  rows.push({
    id: 'P5',
    measure: 'Worker: + session + AI SDK ToolSet, delta',
    value: `+${kib(adapter.min - bare.min)}`,
    versus: `gzip +${kib(adapter.gzip - bare.gzip)}; of which the AI SDK's tool helpers + zod: +${kib(framework.min - bare.min)} (gzip +${kib(framework.gzip - bare.gzip)}), this library: +${kib(adapter.min - framework.min)} (gzip +${kib(adapter.gzip - framework.gzip)})`,
    goal: '≤ 25 KiB gzip',
  })
  return rows
}

if (isMain(import.meta.url)) {
  console.log(table(await benchSize()))
}
