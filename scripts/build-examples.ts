/**
 * `npm run build:examples`: builds every example Worker the way `wrangler deploy` would, without
 * deploying and without Docker, and prints the size of each bundle.
 *
 * 1. Type-checks the examples (examples/shared/tsconfig.json: the Workers runtime types).
 * 2. Checks that the top-level wrangler.jsonc is the same Worker as examples/agents/wrangler.jsonc.
 * 3. Bundles each example with `wrangler deploy --dry-run --outdir .build/<name>` — and the top-level
 *    wrangler.jsonc into .build/main — with `--containers-rollout=none`, so the container image (a
 *    Dockerfile) is neither built nor pushed: no Docker needed.
 * 4. Prints each bundle's size, raw and gzip (what the Workers size limits apply to).
 *
 * Exits non-zero when any step fails. `CI=true WRANGLER_SEND_METRICS=false` keep wrangler quiet
 * and offline.
 */
import { spawn } from 'node:child_process'
import { readdir, readFile, rm } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { unstable_readConfig } from 'wrangler'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** A package's bin script, run by the Node running this script (wrangler needs Node 22). */
const bin = (path: string) => [process.execPath, join(root, 'node_modules', path)]

const EXAMPLES = ['openai-agents', 'ai-sdk', 'langchain', 'agents']
/** The Workers free plan's limit on a Worker's gzipped size (paid: 10 MiB). */
const FREE_PLAN_GZIP_LIMIT = 3 * 1024 * 1024

interface Target {
  label: string
  config: string
  outdir: string
}

const targets: Target[] = [
  ...EXAMPLES.map((name) => ({
    label: `examples/${name}`,
    config: join(root, 'examples', name, 'wrangler.jsonc'),
    outdir: join(root, '.build', name),
  })),
  {
    label: 'wrangler.jsonc (agents)',
    config: join(root, 'wrangler.jsonc'),
    outdir: join(root, '.build', 'main'),
  },
]

function run([command, ...args]: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(command!, args, {
      cwd: root,
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('error', (error) => done({ code: 1, output: `${output}${error.message}\n` }))
    child.on('close', (code) => done({ code: code ?? 1, output }))
  })
}

function fail(message: string, output = ''): never {
  console.error(`\n✗ ${message}${output ? `\n\n${output.trim()}` : ''}`)
  process.exit(1)
}

// ------------------------------------------------------------------ 1. types

async function typecheck(): Promise<void> {
  const { code, output } = await run([...bin('typescript/bin/tsc'), '-p', 'examples/shared/tsconfig.json'])
  if (code !== 0) fail('the examples do not type-check (tsc -p examples/shared/tsconfig.json)', output)
  console.log('✓ type-checked the examples')
}

// ------------------------------------------------------------------ 2. the top-level config

/** What makes a Worker: the config fields that matter, with paths made absolute. */
function workerShape(configPath: string, env: string): unknown {
  const config = unstable_readConfig({ config: configPath, env }, { hideWarnings: true })
  const base = dirname(configPath)
  const path = (p: string) => (p.startsWith('.') || isAbsolute(p) ? relative(root, resolve(base, p)) : p)
  return {
    name: config.name,
    main: config.main ? relative(root, resolve(base, config.main)) : undefined,
    compatibility_date: config.compatibility_date,
    compatibility_flags: config.compatibility_flags,
    alias: Object.fromEntries(Object.entries(config.alias ?? {}).map(([k, v]) => [k, path(String(v))])),
    containers: ((config.containers ?? []) as Array<{ image: string }>).map((c) => ({
      ...c,
      image: path(c.image),
    })),
    durable_objects: config.durable_objects,
    migrations: config.migrations,
    vars: config.vars,
    observability: config.observability,
  }
}

function checkTopLevelConfig(): void {
  for (const env of ['', 'local']) {
    const top = JSON.stringify(workerShape(join(root, 'wrangler.jsonc'), env), null, 2)
    const agents = JSON.stringify(workerShape(join(root, 'examples/agents/wrangler.jsonc'), env), null, 2)
    if (top !== agents) {
      fail(
        `wrangler.jsonc and examples/agents/wrangler.jsonc describe different Workers (env "${env}"): keep them in step`,
        `wrangler.jsonc:\n${top}\n\nexamples/agents/wrangler.jsonc:\n${agents}`,
      )
    }
  }
  console.log('✓ wrangler.jsonc is the same Worker as examples/agents/wrangler.jsonc')
}

// ------------------------------------------------------------------ 3. + 4. bundles

interface Built {
  label: string
  raw: number
  gzip: number
  seconds: number
}

async function bundle(target: Target): Promise<Built> {
  const started = performance.now()
  await rm(target.outdir, { recursive: true, force: true })
  const { code, output } = await run([
    ...bin('wrangler/bin/wrangler.js'),
    'deploy',
    '--dry-run',
    '--config',
    target.config,
    '--env',
    '',
    '--outdir',
    target.outdir,
    '--containers-rollout=none',
  ])
  if (code !== 0 || !/--dry-run: exiting now/.test(output)) {
    fail(`wrangler deploy --dry-run failed for ${target.label}`, output)
  }
  // the upload: every module wrangler wrote, without source maps and its README
  const files = (await readdir(target.outdir)).filter((f) => !f.endsWith('.map') && f !== 'README.md')
  if (!files.length) fail(`wrangler wrote no modules to ${relative(root, target.outdir)}`, output)
  const contents = await Promise.all(files.map((f) => readFile(join(target.outdir, f))))
  const all = Buffer.concat(contents)
  return {
    label: target.label,
    raw: all.length,
    gzip: gzipSync(all, { level: 9 }).length,
    seconds: (performance.now() - started) / 1000,
  }
}

/** Runs `fn` over `items`, `limit` at a time, keeping their order. */
async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

async function main(): Promise<void> {
  await typecheck()
  checkTopLevelConfig()
  const built = await inParallel(targets, 2, bundle)
  console.log('✓ bundled with wrangler deploy --dry-run --containers-rollout=none (no Docker)\n')
  const width = Math.max(...built.map((b) => b.label.length))
  console.log(`${'bundle'.padEnd(width)}  ${'raw'.padStart(12)}  ${'gzip'.padStart(12)}  output`)
  for (const b of built) {
    const out = relative(root, targets.find((t) => t.label === b.label)!.outdir)
    console.log(`${b.label.padEnd(width)}  ${kib(b.raw).padStart(12)}  ${kib(b.gzip).padStart(12)}  ${out}/`)
  }
  const large = built.filter((b) => b.gzip > FREE_PLAN_GZIP_LIMIT)
  if (large.length) {
    console.log(
      `\nnote: over the Workers free plan's ${kib(FREE_PLAN_GZIP_LIMIT)} gzip limit (fine on paid, 10 MiB): ${large.map((b) => b.label).join(', ')}`,
    )
  }
}

await main()
