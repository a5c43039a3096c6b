/**
 * `npm start`: the Docker-free playground (./playground.ts). Starts the local sandbox server, the
 * example Workers under `wrangler dev --env local`, a model — OpenAI with OPENAI_API_KEY (and
 * optionally OPENAI_BASE_URL, OPENAI_MODEL), else the scripted demo model — and the page, then
 * prints its URL. Ctrl-C stops everything.
 *
 * Environment:
 *   PLAYGROUND_PORT       the page's port on 127.0.0.1 (default 8700; 0 = any free port)
 *   PLAYGROUND_EXAMPLES   a comma-separated subset, e.g. `ai-sdk,langchain` (default: all four)
 *   PLAYGROUND_DEMO_DELAY_MS  the demo model's pause before each reply (default 400)
 *   PLAYGROUND_START_TIMEOUT_MS  how long an example may take to answer /api/health (default 120000)
 */
import { type Playground, startPlayground } from './playground.js'

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)

const port = Number(process.env.PLAYGROUND_PORT ?? 8700)
const examples = process.env.PLAYGROUND_EXAMPLES?.split(',')
  .map((name) => name.trim())
  .filter(Boolean)
const delay = Number(process.env.PLAYGROUND_DEMO_DELAY_MS ?? 400)
const startTimeout = Number(process.env.PLAYGROUND_START_TIMEOUT_MS ?? 120_000)

let playground: Playground | undefined
let stopping = 0

async function shutdown(signal: string): Promise<void> {
  const now = Date.now()
  if (stopping) {
    // tsx and npm may relay the same Ctrl-C: only a second press a moment later forces the exit
    if (now - stopping > 1_000) {
      console.log('Forced exit.')
      process.exit(130)
    }
    return
  }
  stopping = now
  console.log(`\n${signal}: stopping the examples, the sandboxes and the page…`)
  await playground?.close()
  console.log('Stopped.')
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGHUP', () => void shutdown('SIGHUP'))

console.log(bold('sandbox-agent-tools playground'))
try {
  playground = await startPlayground({
    port: await pickPort(port),
    ...(examples?.length ? { examples } : {}),
    demoDelayMs: Number.isFinite(delay) ? delay : 400,
    startTimeoutMs: Number.isFinite(startTimeout) && startTimeout > 0 ? startTimeout : 120_000,
    log: (line) => console.log(dim(line)),
  })
} catch (error) {
  console.error(`Could not start the playground: ${(error as Error).message}`)
  process.exit(1)
}
console.log(`model: ${playground.model.label}`)
console.log(`starting ${playground.examples.map((e) => e.name).join(', ')} under wrangler dev --env local…`)
console.log(`\n  ${bold(`Playground: ${playground.url}`)}\n`)
await playground.settled
const ready = playground.examples.filter((e) => e.state === 'ready')
const failed = playground.examples.filter((e) => e.state === 'failed')
if (failed.length) {
  console.log(`\n${failed.length} example(s) did not start:`)
  for (const example of failed) console.log(`  ✗ ${example.error}`)
}
if (!ready.length) {
  console.error('\nNo example started; stopping.')
  await playground.close()
  process.exit(1)
}
console.log(
  `\nReady: ${ready.map((e) => e.name).join(', ')}. Open ${bold(playground.url)} — Ctrl-C stops everything.`,
)

/** The port asked for, or any free one if it is taken (a fixed default must not block a second run). */
async function pickPort(wanted: number): Promise<number> {
  if (!Number.isInteger(wanted) || wanted <= 0) return 0
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => {
      console.log(dim(`port ${wanted} is taken; using a free one`))
      resolve(0)
    })
    probe.listen(wanted, '127.0.0.1', () => probe.close(() => resolve(wanted)))
  })
}
