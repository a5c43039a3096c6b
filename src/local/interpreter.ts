/**
 * The local code interpreter: persistent Python and JavaScript/TypeScript contexts with the SDK's result shapes
 * (ExecutionResult, RichResult, ExecutionError). No Jupyter: one small driver process per context, started through
 * the sandbox's spawner, its program passed as an argument (drivers/python.ts, drivers/javascript.ts).
 *
 * Protocol with a driver:
 * - requests, one JSON object per line on its stdin: `{type: 'run', id, code, env}` and `{type: 'interrupt', id}`;
 * - replies on its stdout as `NONCE + JSON + '\n'`: first `{id: 0, ready: true}` (or `{id: 0, refused}`), then
 *   `{id, results, error?}` per run; each reply is followed by `NONCE + id + '\n'` on its stderr;
 * - everything else on its stdout and stderr is the user's output. The reply marks where a run's stdout ends, the
 *   stderr marker where its stderr ends. The nonce is random per driver, so printed text cannot pass for a reply.
 *
 * Behaviour:
 * - runs of one context are queued and run one at a time; `timeout` (default 60 s; 0 = none) counts from the start of
 *   the run. On timeout or abort the driver is interrupted (KeyboardInterrupt in Python; in JavaScript the pending
 *   cell is abandoned and busy code terminated) and the run returns an error named `TimeoutError` / `AbortError`;
 *   the context keeps its state. If the driver does not answer within 2 s it is killed and the context is lost.
 * - A driver that dies (os._exit, a segfault, killed) makes the run return an error named `ContextDiedError`. An
 *   explicit context is then gone: using it throws `CONTEXT_NOT_FOUND` saying why. The default context of a
 *   language (used when no context is given) is replaced transparently by a fresh one on the next run.
 * - TypeScript is supported when the sandbox's Node.js has `module.stripTypeScriptTypes` (22.13+); otherwise
 *   creating a typescript context fails with `INTERPRETER_NOT_READY` and says so.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import type {
  CodeContext,
  CodeLanguage,
  CreateContextOptions,
  ExecutionError,
  ExecutionResult,
  RichResult,
  RunCodeOptions,
} from '../backend.js'
import { SandboxToolError, ToolInputError } from '../errors.js'
import { JAVASCRIPT_DRIVER } from './drivers/javascript.js'
import { PYTHON_DRIVER } from './drivers/python.js'

/**
 * Starts a driver inside the sandbox's isolation. `argv[0]` is the interpreter (`python` or `node` of the
 * interpreter's options), `cwd` a path as the code sees it, and `env` only the context's own variables: the
 * spawner puts the sandbox's base environment (PATH, …) beneath them.
 */
export type DriverSpawner = (
  argv: string[],
  opts: { cwd: string; env: Record<string, string> },
) => ChildProcessWithoutNullStreams

export interface CodeInterpreterOptions {
  spawn: DriverSpawner
  /** The working directory as the code sees it, e.g. '/workspace'. */
  workdir: string
  /** Default '/usr/bin/python3'. */
  python?: string
  /** Default 'node'. */
  node?: string
}

const LANGUAGES: readonly string[] = ['python', 'javascript', 'typescript'] satisfies CodeLanguage[]
const RUN_TIMEOUT_MS = 60_000
const START_TIMEOUT_MS = 30_000
const INTERRUPT_GRACE_MS = 2_000
const CLOSE_GRACE_MS = 1_000
/** How long output may still arrive after a driver exits (a background process may hold its pipes open). */
const DRAIN_MS = 200
const PYTHON_ENV = { MPLBACKEND: 'Agg', PYTHONUNBUFFERED: '1' }

interface Reply {
  id: number
  ready?: true
  refused?: string
  results?: RichResult[]
  error?: ExecutionError
}

export class CodeInterpreter {
  private readonly spawn: DriverSpawner
  private readonly workdir: string
  private readonly python: string
  private readonly node: string
  private readonly contexts = new Map<string, Context>()
  /** The default context of each language, started on first use. */
  private readonly defaults = new Map<CodeLanguage, Promise<Context>>()

  constructor(opts: CodeInterpreterOptions) {
    this.spawn = opts.spawn
    this.workdir = opts.workdir
    this.python = opts.python ?? '/usr/bin/python3'
    this.node = opts.node ?? 'node'
  }

  async createContext(options: CreateContextOptions = {}): Promise<CodeContext> {
    return (await this.start(options, false)).info()
  }

  async runCode(code: string, options: RunCodeOptions = {}): Promise<ExecutionResult> {
    const context = options.context
      ? this.get(options.context.id)
      : await this.defaultContext(options.language ?? 'python')
    return context.enqueue(() => this.execute(context, code, options))
  }

  async deleteContext(id: string): Promise<void> {
    const context = this.contexts.get(id)
    if (!context) throw contextNotFound(id)
    this.forget(context)
    await context.driver.stop(CLOSE_GRACE_MS)
  }

  /**
   * Ends every driver: each may exit by itself when its stdin closes, and is killed if it has not within 1 s.
   * The interpreter stays usable: later calls start fresh contexts.
   */
  async destroy(): Promise<void> {
    const contexts = [...this.contexts.values()]
    this.contexts.clear()
    this.defaults.clear()
    await Promise.all(contexts.map((context) => context.driver.stop(CLOSE_GRACE_MS)))
  }

  private get(id: string): Context {
    const context = this.contexts.get(id)
    if (!context || context.lost) throw contextNotFound(id, context?.lost)
    return context
  }

  private defaultContext(language: CodeLanguage): Promise<Context> {
    let context = this.defaults.get(language)
    if (!context) {
      const starting = this.start({ language }, true)
      starting.catch(() => {
        if (this.defaults.get(language) === starting) this.defaults.delete(language)
      })
      this.defaults.set(language, starting)
      context = starting
    }
    return context
  }

  private forget(context: Context): void {
    if (this.contexts.get(context.id) !== context) return // already forgotten, e.g. by destroy()
    this.contexts.delete(context.id)
    if (context.isDefault) this.defaults.delete(context.language)
  }

  private async start(options: CreateContextOptions, isDefault: boolean): Promise<Context> {
    const language = options.language ?? 'python'
    if (!LANGUAGES.includes(language)) {
      throw new ToolInputError(
        `Unknown code language ${JSON.stringify(language)}: use ${LANGUAGES.join(', ')}.`,
      )
    }
    const nonce = randomUUID()
    const cwd = options.cwd ?? this.workdir
    const python = language === 'python'
    const argv = python
      ? [this.python, '-c', PYTHON_DRIVER, nonce]
      : [this.node, '-e', JAVASCRIPT_DRIVER, nonce, language]
    const env = { ...(python ? PYTHON_ENV : {}), ...definedEnv(options.envVars) }
    const driver = new Driver(this.spawn(argv, { cwd, env }), nonce)
    const context = new Context(randomUUID(), language, cwd, driver, isDefault)
    this.contexts.set(context.id, context) // already now, so that destroy() also ends a context that is starting
    const startMs = options.timeout ?? START_TIMEOUT_MS
    const ready = await settle(driver.exchange(0), startMs)
    const destroyed = this.contexts.get(context.id) !== context
    if (!destroyed && typeof ready === 'object' && ready.ready) {
      driver.takeLogs() // start-up noise is nobody's output
      return context
    }

    this.forget(context)
    const ended = ready === undefined ? await driver.ended : undefined
    await driver.stop()
    const interpreter = `The ${language} interpreter (${argv[0]})`
    if (destroyed) {
      throw new SandboxToolError(
        'INTERPRETER_NOT_READY',
        `${interpreter} was stopped while starting: destroy() was called.`,
      )
    }
    if (typeof ready === 'object') throw new SandboxToolError('INTERPRETER_NOT_READY', `${ready.refused}`)
    if (ready === 'timeout') {
      throw new SandboxToolError(
        'INTERPRETER_NOT_READY',
        `${interpreter} did not start within ${startMs} ms.`,
      )
    }
    const stderr = driver.takeLogs().stderr.join('').trim()
    throw new SandboxToolError(
      python ? 'PYTHON_NOT_AVAILABLE' : 'INTERPRETER_NOT_READY',
      `${interpreter} ${ended} before it was ready.${stderr ? `\n${stderr}` : ''}`,
    )
  }

  private async execute(context: Context, code: string, options: RunCodeOptions): Promise<ExecutionResult> {
    if (context.lost) throw contextNotFound(context.id, context.lost)
    if (options.signal?.aborted) {
      const error = { name: 'AbortError', message: 'The run was aborted before it started.', traceback: [] }
      return { code, logs: { stdout: [], stderr: [] }, results: [], error }
    }
    const timeoutMs = options.timeout ?? RUN_TIMEOUT_MS
    const id = ++context.cells
    context.lastUsed = new Date()
    const { driver } = context
    const replied = driver.exchange(id, { type: 'run', id, code, env: definedEnv(options.envVars) })
    let outcome = await settle(replied, timeoutMs, options.signal)
    const stopped = typeof outcome === 'string' ? outcome : undefined
    if (stopped) {
      driver.send({ type: 'interrupt', id })
      outcome = await settle(replied, INTERRUPT_GRACE_MS)
      if (outcome === 'timeout') await driver.stop()
    }
    const reply = typeof outcome === 'object' ? outcome : undefined
    const result: ExecutionResult = {
      code,
      logs: driver.takeLogs(),
      results: reply?.results ?? [],
      executionCount: id,
    }
    const { language } = context
    const ended = reply
      ? undefined
      : stopped
        ? 'did not respond to an interrupt and was terminated'
        : await driver.ended
    if (ended) {
      context.lost = `its ${language} interpreter ${ended}`
      if (context.isDefault) this.forget(context)
    }
    const lost = `the context's state is lost. ${
      context.isDefault
        ? 'The next run without a context starts a fresh one.'
        : 'Create a new context with createCodeContext() to continue.'
    }`
    if (stopped) {
      const what =
        stopped === 'timeout' ? `Execution timed out after ${timeoutMs} ms` : 'Execution was aborted'
      result.error = {
        name: stopped === 'timeout' ? 'TimeoutError' : 'AbortError',
        message: ended
          ? `${what}; the interpreter did not respond to the interrupt, so it was terminated and ${lost}`
          : `${what} and was interrupted; the context keeps its state.`,
        traceback: reply?.error?.traceback ?? [],
      }
    } else if (ended) {
      const message = `The ${language} interpreter ${ended} while running this code; ${lost}`
      result.error = { name: 'ContextDiedError', message, traceback: [] }
    } else if (reply?.error) {
      result.error = reply.error
    }
    return result
  }
}

/** A context: its driver, and the queue that runs its cells one at a time. */
class Context {
  readonly createdAt = new Date()
  lastUsed = this.createdAt
  cells = 0
  /** Why the context is gone, once its driver is. */
  lost: string | undefined
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly id: string,
    readonly language: CodeLanguage,
    readonly cwd: string,
    readonly driver: Driver,
    readonly isDefault: boolean,
  ) {}

  enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task)
    this.queue = result.catch(() => {})
    return result
  }

  info(): CodeContext {
    const { id, language, cwd, createdAt, lastUsed } = this
    return { id, language, cwd, createdAt, lastUsed }
  }
}

/** One driver process: separates the user's output from replies, exchanges requests and replies, reports its end. */
class Driver {
  /** Why the process is gone ("exited with code 1", "was killed by SIGSEGV", …), once it is. */
  readonly ended: Promise<string>
  private logs: ExecutionResult['logs'] = { stdout: [], stderr: [] }
  private awaited: { id: number; reply?: Reply; marked: boolean; done: (reply: Reply) => void } | undefined

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    nonce: string,
  ) {
    demux(
      child.stdout,
      nonce,
      (text) => this.logs.stdout.push(text),
      (frame) => this.receive(nonce, frame),
    )
    demux(
      child.stderr,
      nonce,
      (text) => this.logs.stderr.push(text),
      (frame) => this.mark(Number(frame)),
    )
    child.stdin.on('error', () => {}) // EPIPE once the process is gone, which `ended` reports
    this.ended = new Promise((resolve) => {
      child.once('error', (error) => resolve(`could not be started (${error.message})`))
      child.once('exit', (code, signal) => {
        const reason = signal ? `was killed by ${signal}` : `exited with code ${code}`
        const timer = setTimeout(() => resolve(reason), DRAIN_MS)
        child.once('close', () => {
          clearTimeout(timer)
          resolve(reason)
        })
      })
    })
  }

  /** Sends `request` (if any) and waits for reply `id`; undefined if the process ends first. */
  exchange(id: number, request?: object): Promise<Reply | undefined> {
    const reply = new Promise<Reply>((done) => {
      this.awaited = { id, marked: false, done }
    })
    if (request) this.send(request)
    return Promise.race([reply, this.ended.then(() => undefined)])
  }

  send(request: object): void {
    if (this.child.stdin.writable) this.child.stdin.write(`${JSON.stringify(request)}\n`)
  }

  /** The user's output since the last call. */
  takeLogs(): ExecutionResult['logs'] {
    const logs = this.logs
    this.logs = { stdout: [], stderr: [] }
    return logs
  }

  /**
   * Closes stdin so that the driver exits by itself, and kills it if it is still there after `graceMs`. (Letting
   * it exit also avoids a race of bubblewrap: killed right after it started, its sandboxed child can outlive it.)
   */
  async stop(graceMs = 0): Promise<void> {
    this.child.stdin.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.ended
    clearTimeout(timer)
  }

  private receive(nonce: string, frame: string): void {
    let reply: Reply
    try {
      reply = JSON.parse(frame) as Reply
    } catch {
      this.logs.stdout.push(nonce + frame) // garbled by a concurrent writer: show it rather than lose it
      return
    }
    if (this.awaited?.id === reply.id) {
      this.awaited.reply = reply
      this.settle()
    }
  }

  private mark(id: number): void {
    if (this.awaited?.id === id) {
      this.awaited.marked = true
      this.settle()
    }
  }

  private settle(): void {
    const awaited = this.awaited
    if (awaited?.reply && awaited.marked) {
      this.awaited = undefined
      awaited.done(awaited.reply)
    }
  }
}

/**
 * Splits a driver's output stream into the user's text and frames (`nonce + payload + '\n'`). Text is passed on by
 * whole lines, or up to the next frame; a partial last line waits for more.
 */
function demux(
  stream: Readable,
  nonce: string,
  onText: (text: string) => void,
  onFrame: (payload: string) => void,
) {
  let buffer = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    buffer += chunk
    for (let start = buffer.indexOf(nonce); start >= 0; start = buffer.indexOf(nonce)) {
      const end = buffer.indexOf('\n', start)
      if (end < 0) break
      if (start > 0) onText(buffer.slice(0, start))
      onFrame(buffer.slice(start + nonce.length, end))
      buffer = buffer.slice(end + 1)
    }
    const frame = buffer.indexOf(nonce)
    const cut = frame >= 0 ? frame : buffer.lastIndexOf('\n') + 1
    if (cut > 0) {
      onText(buffer.slice(0, cut))
      buffer = buffer.slice(cut)
    }
  })
  stream.on('end', () => {
    if (buffer) onText(buffer)
  })
}

/** `promise`'s value; or 'timeout' after `ms` (if a positive finite number), or 'abort' when `signal` aborts. */
async function settle<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | 'timeout' | 'abort'> {
  let cleanup = () => {}
  const stop = new Promise<'timeout' | 'abort'>((resolve) => {
    const timer = ms > 0 && Number.isFinite(ms) ? setTimeout(() => resolve('timeout'), ms) : undefined
    const onAbort = () => resolve('abort')
    signal?.addEventListener('abort', onAbort, { once: true })
    cleanup = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  })
  try {
    return await Promise.race([promise, stop])
  } finally {
    cleanup()
  }
}

function definedEnv(env: Record<string, string | undefined> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
}

function contextNotFound(id: string, lost?: string): SandboxToolError {
  return new SandboxToolError(
    'CONTEXT_NOT_FOUND',
    lost
      ? `Code context ${id} is gone: ${lost}.`
      : `Code context ${id} does not exist (deleted, or never created).`,
    {
      hint: 'Create a new context with createCodeContext(), or run without a context to use the default one.',
    },
  )
}
