/**
 * The Docker-free playground behind `npm start`: the local sandbox server, every example Worker under
 * `wrangler dev --env local` (its `Sandbox` binding on LocalSandboxDO, which forwards to that server),
 * a model — OpenAI when OPENAI_API_KEY is set, otherwise the scripted demo model of ./demo-model.ts —
 * and a small page on 127.0.0.1 that runs a task on an example and shows its NDJSON stream live.
 *
 * Everything listens on 127.0.0.1. Each `wrangler dev` runs in its own process group so `close()`
 * stops it with everything it started (workerd); the sandbox server's `close()` destroys every
 * sandbox, and with it the servers the agents started.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createRequire } from 'node:module'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type LocalSandboxServer, serveLocalSandbox } from '../../src/local/server.js'
import { stripAnsi } from '../../src/output.js'
import { showcaseTask } from '../demo/showcase.js'
import { DEMO_MODEL_ID, type DemoModel, startDemoModel } from './demo-model.js'

const HOST = '127.0.0.1'
const root = fileURLToPath(new URL('../../', import.meta.url))
const pagePath = fileURLToPath(new URL('./index.html', import.meta.url))

export interface ExampleInfo {
  /** The folder under examples/ and the page's route: `/api/<name>/run`. */
  name: string
  label: string
  /** What it shows, one line. */
  blurb: string
}

/** The example Workers, fastest to start first. */
export const EXAMPLES: readonly ExampleInfo[] = [
  { name: 'ai-sdk', label: 'Vercel AI SDK', blurb: 'streamText with sandboxTools(session), a ToolSet' },
  {
    name: 'openai-agents',
    label: 'OpenAI Agents SDK',
    blurb: 'Runner with the native shell and apply_patch tools plus function tools',
  },
  {
    name: 'langchain',
    label: 'LangChain',
    blurb: 'createAgent with tools that return content and artifacts',
  },
  {
    name: 'agents',
    label: 'Cloudflare Agents',
    blurb: 'a Coder agent per session that owns its sandbox (withSandbox)',
  },
]

export type ExampleState = 'starting' | 'ready' | 'failed'

export interface ExampleStatus extends ExampleInfo {
  state: ExampleState
  /** The wrangler dev port, once it is listening. */
  port?: number
  /** The `wrangler dev` process (leader of its own process group). */
  pid?: number
  /** Why it failed (names the example, says where its log is). */
  error?: string
  /** wrangler's output. */
  log: string
}

export interface PlaygroundOptions {
  /** The page's port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number
  /** Which examples to start (names from EXAMPLES). Default: all. */
  examples?: readonly string[]
  /** Where OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL come from. Default: process.env. */
  env?: Record<string, string | undefined>
  /** How long an example may take to answer /api/health. Default 120 s. */
  startTimeoutMs?: number
  /** Pause of the demo model before each reply, so a run can be watched. Default 0. */
  demoDelayMs?: number
  /** Progress lines. Default: none. */
  log?: (line: string) => void
}

export interface ModelInfo {
  demo: boolean
  /** What the page shows about the model. */
  label: string
}

export interface Playground {
  /** The page: `http://127.0.0.1:PORT/` */
  url: string
  model: ModelInfo
  examples: ExampleStatus[]
  /** Resolves when every example is ready or has failed. */
  settled: Promise<void>
  /** Stops every example (by process group), the model, the sandbox server and the page. Idempotent. */
  close(): Promise<void>
}

interface Child {
  pid: number
  exited: Promise<number | null>
  done: boolean
}

/**
 * Starts the playground. Resolves as soon as the page is served; `settled` tells when the examples
 * are up. An example that does not come up is reported (state `failed`, `error`) and the others
 * carry on.
 */
export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  const env = options.env ?? process.env
  const log = options.log ?? (() => {})
  const timeout = options.startTimeoutMs ?? 120_000
  const wanted = options.examples ?? EXAMPLES.map((e) => e.name)
  const unknown = wanted.filter((name) => !EXAMPLES.some((e) => e.name === name))
  if (unknown.length) {
    throw new Error(
      `Unknown example(s): ${unknown.join(', ')} (known: ${EXAMPLES.map((e) => e.name).join(', ')})`,
    )
  }

  // secrets and Durable Object state: removed on close
  const work = await mkdtemp(join(tmpdir(), 'sandbox-agent-tools-playground-'))
  // wrangler's output: removed on close unless an example failed (its error names the file)
  const logs = await mkdtemp(join(tmpdir(), 'sandbox-agent-tools-playground-logs-'))
  let keepLogs = false
  const children = new Map<string, Child>()
  let sandboxServer: LocalSandboxServer | undefined
  let demo: DemoModel | undefined
  let page: Server | undefined
  let closing: Promise<void> | undefined

  const close = () => {
    closing ??= (async () => {
      await Promise.resolve() // examples still starting see `closing` and stop where they are
      await Promise.all([...children.values()].map((child) => stopGroup(child)))
      if (page) await closeServer(page)
      await demo?.close()
      await sandboxServer?.close()
      await rm(work, { recursive: true, force: true })
      if (!keepLogs) await rm(logs, { recursive: true, force: true })
      process.removeListener('exit', onExit)
    })()
    return closing
  }
  // Whatever happens to this process, its wrangler groups must not outlive it.
  const onExit = () => {
    for (const child of children.values()) if (!child.done) killGroup(child.pid, 'SIGKILL')
  }
  process.once('exit', onExit)

  try {
    sandboxServer = await serveLocalSandbox({ port: 0 })
    log(`local sandbox server on ${sandboxServer.url}`)

    const apiKey = env.OPENAI_API_KEY?.trim()
    let model: ModelInfo
    const secrets: Record<string, string> = {
      LOCAL_SANDBOX_URL: sandboxServer.url,
      LOCAL_SANDBOX_TOKEN: sandboxServer.token,
    }
    if (apiKey) {
      secrets.OPENAI_API_KEY = apiKey
      if (env.OPENAI_BASE_URL) secrets.OPENAI_BASE_URL = env.OPENAI_BASE_URL
      if (env.OPENAI_MODEL) secrets.OPENAI_MODEL = env.OPENAI_MODEL
      const where = env.OPENAI_BASE_URL ? ` via ${env.OPENAI_BASE_URL}` : ''
      model = { demo: false, label: `${env.OPENAI_MODEL || 'each example’s default model'}${where}` }
    } else {
      demo = await startDemoModel({ delayMs: options.demoDelayMs ?? 0 })
      secrets.OPENAI_API_KEY = 'demo-model-needs-no-key'
      secrets.OPENAI_BASE_URL = demo.baseURL
      secrets.OPENAI_MODEL = DEMO_MODEL_ID
      model = { demo: true, label: 'Demo model (scripted) — set OPENAI_API_KEY for a real model' }
      log(`scripted demo model on ${demo.baseURL} (no OPENAI_API_KEY set)`)
    }
    // Secrets go to wrangler in a file only this user can read (not on the command line).
    const envFile = join(work, 'secrets.env')
    await writeFile(
      envFile,
      Object.entries(secrets)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}\n`)
        .join(''),
      { mode: 0o600 },
    )

    const examples: ExampleStatus[] = EXAMPLES.filter((e) => wanted.includes(e.name)).map((e) => ({
      ...e,
      state: 'starting',
      log: join(logs, `${e.name}.log`),
    }))

    page = await servePage(options.port ?? 0, { examples, model })
    const url = `http://${HOST}:${(page.address() as AddressInfo).port}/`

    const ports = await freePorts(examples.length)
    const settled = Promise.all(
      examples.map(async (example, i) => {
        try {
          const port = ports[i]!
          if (closing) return
          const child = startWrangler(example, port, envFile, work)
          children.set(example.name, child)
          example.pid = child.pid
          await waitForHealth(example, port, child, timeout, () => closing !== undefined)
          example.port = port
          example.state = 'ready'
          log(`${example.name}: ready (wrangler dev on ${HOST}:${port}, pid ${child.pid})`)
        } catch (error) {
          if (closing) return // stopped while starting: not a failure of the example
          example.state = 'failed'
          example.error = (error as Error).message
          keepLogs = true
          const child = children.get(example.name)
          if (child) await stopGroup(child)
          log(`${example.name}: FAILED — ${example.error}`)
        }
      }),
    ).then(() => {})

    return { url, model, examples, settled, close }
  } catch (error) {
    await close()
    throw error
  }
}

// ------------------------------------------------------------------ wrangler dev

function wranglerBin(): string {
  const require = createRequire(import.meta.url)
  const pkgPath = require.resolve('wrangler/package.json')
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: string | Record<string, string> }
  const bin = typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin.wrangler ?? Object.values(pkg.bin)[0]!)
  return join(dirname(pkgPath), bin)
}

function startWrangler(example: ExampleStatus, port: number, envFile: string, work: string): Child {
  const args = [
    wranglerBin(),
    'dev',
    '--config',
    join(root, 'examples', example.name, 'wrangler.jsonc'),
    '--env',
    'local',
    '--ip',
    HOST,
    '--port',
    String(port),
    '--inspector-ip',
    HOST,
    // each wrangler picks its own inspector port (the default 9229 would be shared)
    '--inspector-port',
    '0',
    '--env-file',
    envFile,
    '--persist-to',
    join(work, 'state', example.name),
    '--show-interactive-dev-session=false',
    '--live-reload=false',
  ]
  const out = openSync(example.log, 'a')
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true, // its own process group: stopped as a whole
    stdio: ['ignore', out, out],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
  })
  closeSync(out)
  const record: Child = {
    pid: child.pid!,
    done: false,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        record.done = true
        resolve(code ?? (signal ? 128 : null))
      })
      child.once('error', () => {
        record.done = true
        resolve(null)
      })
    }),
  }
  return record
}

async function waitForHealth(
  example: ExampleStatus,
  port: number,
  child: Child,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exitCode: number | null | undefined
  child.exited.then((code) => {
    exitCode = code
  })
  while (Date.now() < deadline) {
    if (cancelled()) throw new Error(`examples/${example.name}: the playground was stopped while it started`)
    if (child.done) {
      throw new Error(
        `examples/${example.name}: wrangler dev exited (code ${exitCode ?? '?'}) before answering /api/health. ${await logTail(example.log)}`,
      )
    }
    try {
      const response = await fetch(`http://${HOST}:${port}/api/health`, {
        signal: AbortSignal.timeout(5_000),
      })
      if (response.ok) {
        const body = (await response.json().catch(() => ({}))) as { ok?: boolean }
        if (body.ok) return
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(
    `examples/${example.name}: wrangler dev did not answer /api/health within ${seconds(timeoutMs)}. ${await logTail(example.log)}`,
  )
}

/** wrangler's banner and the harmless offline warnings (no network for `Request.cf`). */
const NOISE = /Request\.cf|getaddrinfo|GetAddrInfoReqWrap|^\s+at |⛅️|^─+$|update available/

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`

async function logTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '')
  const lines = stripAnsi(text)
    .split('\n')
    .filter((line) => line.trim() && !NOISE.test(line))
    .slice(-8)
  return lines.length ? `Last lines of its log (${path}):\n${lines.join('\n')}` : `Its log: ${path}`
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** SIGTERM to the group, SIGKILL after 5 s; then any straggler of the group is killed too. */
async function stopGroup(child: Child): Promise<void> {
  if (!child.done) {
    killGroup(child.pid, 'SIGTERM')
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5_000)
    await child.exited
    clearTimeout(timer)
  }
  // wrangler may have exited before its workerd did
  killGroup(child.pid, 'SIGKILL')
}

/** `count` distinct free ports on 127.0.0.1 (all held open until all are known). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createNetServer>>((resolve, reject) => {
          const server = createNetServer()
          server.once('error', reject)
          server.listen(0, HOST, () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

// ------------------------------------------------------------------ the page

interface PageState {
  examples: ExampleStatus[]
  model: ModelInfo
}

async function servePage(port: number, state: PageState): Promise<Server> {
  const html = await readFile(pagePath, 'utf8')
  const server = createServer((req, res) => {
    try {
      route(req, res, state, html, server)
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message })
      else res.destroy()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, HOST, () => resolve())
  })
  return server
}

function route(
  req: IncomingMessage,
  res: ServerResponse,
  state: PageState,
  html: string,
  server: Server,
): void {
  const url = new URL(req.url ?? '/', `http://${HOST}`)
  const { port } = server.address() as AddressInfo
  const refuse = (status: number, error: string) => {
    req.resume()
    sendJson(res, status, { error })
  }
  // DNS rebinding: only answer requests addressed to this server by its loopback name.
  if (req.headers.host !== `${HOST}:${port}` && req.headers.host !== `localhost:${port}`) {
    refuse(421, `wrong Host header; open http://${HOST}:${port}/`)
  } else if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
    res.end(html)
  } else if (req.method === 'GET' && url.pathname === '/api/config') {
    sendJson(res, 200, {
      model: state.model,
      task: showcaseTask,
      examples: state.examples.map(({ name, label, blurb, state, error }) => ({
        name,
        label,
        blurb,
        state,
        error,
      })),
    })
  } else {
    const match = /^\/api\/([a-z0-9-]+)(\/.*)$/.exec(url.pathname)
    const example = match && state.examples.find((e) => e.name === match[1])
    if (!match || !example) {
      refuse(404, `no route ${req.method} ${url.pathname}`)
    } else if (example.state !== 'ready' || !example.port) {
      const why = example.state === 'failed' ? `failed to start: ${example.error}` : 'is still starting'
      refuse(503, `examples/${example.name} ${why}`)
    } else if (
      req.method !== 'GET' &&
      !String(req.headers['content-type'] ?? '').startsWith('application/json')
    ) {
      // Only the page's own requests: a cross-site form cannot send JSON, and a cross-site fetch with
      // JSON needs a CORS preflight this server never grants.
      refuse(415, 'send JSON (content-type: application/json)')
    } else {
      proxy(req, res, example.port, `/api${match[2]}${url.search}`)
    }
  }
}

/** Streams the request to the example and its answer (NDJSON, as it comes) back. */
function proxy(req: IncomingMessage, res: ServerResponse, port: number, path: string): void {
  const upstream = httpRequest(
    {
      host: HOST,
      port,
      method: req.method,
      path,
      headers: {
        'content-type': req.headers['content-type'] ?? 'application/json',
        accept: req.headers.accept ?? '*/*',
        ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}),
      },
    },
    (answer) => {
      const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-accel-buffering': 'no' }
      for (const key of ['content-type', 'x-session-id']) {
        const value = answer.headers[key]
        if (typeof value === 'string') headers[key] = value
      }
      res.writeHead(answer.statusCode ?? 502, headers)
      res.flushHeaders()
      answer.pipe(res)
    },
  )
  upstream.on('error', (error) => {
    if (!res.headersSent) sendJson(res, 502, { error: `the example did not answer: ${error.message}` })
    else res.destroy()
  })
  // The page stopped reading (Stop button, tab closed): abort the run upstream too.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy()
  })
  req.pipe(upstream)
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}
