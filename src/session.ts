/**
 * SandboxSession: one sandbox, lazily started, with the working directory and exported variables
 * tracked across sessionless commands, a client-side deadline on every backend call, bounded
 * retries of transient failures, shaped output and destroy-on-done.
 */
import type {
  CodeContext,
  CodeLanguage,
  ExecEvent,
  ExecResult,
  ExecutionResult,
  FileInfo,
  ProcessInfo,
  ReadFileResult,
  SandboxBackend,
} from './backend.js'
import {
  describeError,
  errorCode,
  SandboxTimeoutError,
  SandboxToolError,
  SessionDestroyedError,
} from './errors.js'
import {
  DEFAULT_MAX_BYTES,
  OutputCollector,
  type OutputLimits,
  type ShapedText,
  shapeText,
} from './output.js'
import { assertRealpathInside, DEFAULT_WORKDIR, resolveWorkspacePath, shellQuote } from './paths.js'
import { parseSSEStream } from './sse.js'

export interface RetryOptions {
  /** Attempts after the first one. Default 4. */
  retries?: number
  /** First backoff delay; doubles each time (with jitter). Default 250 ms. */
  minDelayMs?: number
  /** Largest single delay. Default 4 s. */
  maxDelayMs?: number
  /** Total time retries may add to one operation. Default 30 s. */
  budgetMs?: number
}

export interface SessionOptions {
  /** Returns the sandbox. Called once, on the first operation (e.g. `() => getSandbox(env.Sandbox, id)`). */
  sandbox: () => SandboxBackend | Promise<SandboxBackend>
  /** The workspace: file tools stay inside it, commands start in it. Default '/workspace'. */
  workdir?: string
  /** Variables every command starts with. */
  env?: Record<string, string>
  /** Default command timeout. Default 120 s. */
  commandTimeoutMs?: number
  /** Upper bound for a per-call command timeout (a model asking for more gets this). Default 15 min. */
  maxCommandTimeoutMs?: number
  /** Client-side deadline for every non-command backend call. Default 60 s. */
  callTimeoutMs?: number
  retry?: RetryOptions
  /** Output limits for command results (default 16 KiB per stream). */
  output?: OutputLimits
  /**
   * When a command's output is cut, save the full output to a file in the sandbox so the model can
   * page through it with read_file. Default true; the files go to `spillDir`.
   */
  spillOutput?: boolean
  /** Where full outputs are saved. Default `<workdir>/.sandbox-agent-tools/output`. */
  spillDir?: string
  /** Resolve symlinks inside the sandbox before file operations (realpath). Default true. */
  checkSymlinks?: boolean
  /** Hostname for preview URLs (Cloudflare needs a custom domain with wildcard DNS). Default 'localhost'. */
  previewHostname?: string
  /**
   * Continue where an earlier session on the same sandbox left off: its `snapshotState()` (for
   * example kept in a Durable Object's storage across hibernation). A cwd that no longer exists
   * falls back to the workdir; a code context that no longer exists fails its next run_code once.
   */
  initialState?: Partial<SessionState>
  onEvent?: (event: SessionEvent) => void
}

/**
 * What a later session needs to continue where this one left off: plain JSON, from
 * `snapshotState()`, given back as `initialState`.
 */
export interface SessionState {
  /** The working directory the next command starts in. */
  cwd: string
  /** The variables commands start with (the last command's environment, its exports included). */
  env: Record<string, string>
  /** Variables a command unset that the sandbox's own environment would otherwise bring back. */
  unset: string[]
  /** The persistent run_code contexts, by language. */
  codeContexts: Partial<Record<CodeLanguage, { id: string; language: string; cwd: string }>>
}

export type SessionEvent =
  | { type: 'started' }
  | { type: 'command-started'; id: number; command: string; cwd: string }
  | {
      type: 'command-finished'
      id: number
      command: string
      exitCode: number | null
      timedOut: boolean
      durationMs: number
    }
  | { type: 'file-written'; path: string; bytes: number }
  | { type: 'retry'; operation: string; attempt: number; delayMs: number; error: string }
  | { type: 'destroyed' }

export interface ExecCallOptions {
  timeoutMs?: number
  signal?: AbortSignal
  /** Output limits for this call (merged over the session's). */
  output?: OutputLimits
  /** Called with the shaped output so far while the command runs. */
  onProgress?: (partial: { stdout: string; stderr: string }) => void
}

export interface CommandResult {
  command: string
  /** null when the command was killed by the timeout (or never reported an exit). */
  exitCode: number | null
  timedOut: boolean
  stdout: ShapedText
  stderr: ShapedText
  durationMs: number
  /** Working directory after the command (what the next command starts in). */
  cwd: string
  /** When output was cut: a file in the sandbox with the complete output. */
  fullOutputPath?: string
}

export interface ReadFileOptions {
  encoding?: 'utf-8' | 'base64'
}

interface TrackedState {
  cwd: string
  env: Record<string, string>
  unset: Set<string>
}

/** Variables that describe the shell itself, not state a command exported. */
const COMMAND_TOKEN = '__SAT_COMMAND'
const UNTRACKED_ENV = new Set([
  COMMAND_TOKEN,
  'PWD',
  'OLDPWD',
  'SHLVL',
  '_',
  'BASH_EXECUTION_STRING',
  '__sat_rc',
  '__sat_names',
  '__sat_n',
  'COLUMNS',
  'LINES',
])
const STATE_HOLDBACK_BYTES = 64 * 1024
const DESTROYED = Symbol('destroyed')

export class SandboxSession implements AsyncDisposable {
  readonly workdir: string
  readonly options: Readonly<SessionOptions>
  #backend: Promise<SandboxBackend> | undefined
  #started = false
  #destroyed = false
  #destroying: Promise<void> | undefined
  #state: TrackedState
  #commandCounter = 0
  #codeContexts = new Map<CodeLanguage, Promise<CodeContext>>()
  /** The contexts above once created (what `snapshotState()` reports). */
  #readyContexts = new Map<CodeLanguage, CodeContext>()
  #listeners = new Set<(event: SessionEvent) => void>()
  #workdirReal: Promise<string> | undefined
  /** Where commands see /workspace, when that is not /workspace (a local backend without isolation). */
  #commandWorkspace: string | undefined

  constructor(options: SessionOptions) {
    if (typeof options?.sandbox !== 'function') {
      throw new TypeError(
        'createSession: `sandbox` must be a function returning the sandbox, e.g. { sandbox: () => getSandbox(env.Sandbox, id) }',
      )
    }
    this.options = options
    this.workdir = normalizeWorkdir(options.workdir ?? DEFAULT_WORKDIR)
    this.#state = { cwd: this.workdir, env: { ...(options.env ?? {}) }, unset: new Set() }
    if (options.initialState) this.#seed(options.initialState)
    if (options.onEvent) this.#listeners.add(options.onEvent)
  }

  /** True once the sandbox factory has been called and returned. */
  get started(): boolean {
    return this.#started
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** The working directory the next command starts in. */
  get cwd(): string {
    return this.#state.cwd
  }

  /** Variables exported by earlier commands (and the session's own `env`). */
  get env(): Readonly<Record<string, string>> {
    return this.#state.env
  }

  /**
   * The state a later session needs to continue where this one is now (cwd, variables, code
   * contexts): plain JSON, to keep (e.g. in Durable Object storage) and give back as `initialState`.
   * It can change with every command (`command-finished`) and every run_code call.
   */
  snapshotState(): SessionState {
    const codeContexts: SessionState['codeContexts'] = {}
    for (const [language, context] of this.#readyContexts) {
      codeContexts[language] = { id: context.id, language: context.language, cwd: context.cwd }
    }
    return {
      cwd: this.#state.cwd,
      env: { ...this.#state.env },
      unset: [...this.#state.unset],
      codeContexts,
    }
  }

  #seed(initial: Partial<SessionState>): void {
    const unset = new Set(Array.isArray(initial.unset) ? initial.unset.map(String) : [])
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(this.options.env ?? {})) if (!unset.has(key)) env[key] = value
    if (initial.env && typeof initial.env === 'object') {
      for (const [key, value] of Object.entries(initial.env)) env[key] = String(value)
    }
    const cwd = typeof initial.cwd === 'string' && initial.cwd.startsWith('/') ? initial.cwd : this.workdir
    this.#state = { cwd, env, unset }
    for (const [language, saved] of Object.entries(initial.codeContexts ?? {})) {
      if (!saved || typeof saved.id !== 'string') continue
      const now = new Date()
      const context: CodeContext = {
        id: saved.id,
        language: saved.language ?? language,
        cwd: saved.cwd ?? this.workdir,
        createdAt: now,
        lastUsed: now,
      }
      this.#codeContexts.set(language as CodeLanguage, Promise.resolve(context))
      this.#readyContexts.set(language as CodeLanguage, context)
    }
  }

  /** Output limits with defaults applied. */
  outputLimits(override?: OutputLimits): OutputLimits {
    return { maxBytes: DEFAULT_MAX_BYTES, ...this.options.output, ...override }
  }

  /** Subscribe to session events; returns an unsubscribe function. */
  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #emit(event: SessionEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // a listener's failure must not break the session
      }
    }
  }

  /** The backend, starting the sandbox on first use (concurrent first calls share one start). */
  backend(): Promise<SandboxBackend> {
    if (this.#destroyed) return Promise.reject(new SessionDestroyedError())
    if (!this.#backend) {
      this.#backend = this.#retry('start', true, async () => this.options.sandbox()).then(
        async (backend) => {
          if (!backend || typeof backend.exec !== 'function') {
            throw new TypeError(
              'createSession: the `sandbox` factory did not return a sandbox (no exec method)',
            )
          }
          // a DO stub answers any property with an RPC stub: only a plain string counts
          const commandWorkspace = (backend as { commandWorkspace?: unknown }).commandWorkspace
          if (typeof commandWorkspace === 'string' && commandWorkspace !== DEFAULT_WORKDIR) {
            this.#commandWorkspace = commandWorkspace
          }
          // the sandbox has /workspace; another workdir must exist before commands can start in it
          if (this.workdir !== DEFAULT_WORKDIR) {
            await this.#retry('mkdir', true, () => backend.mkdir(this.workdir, { recursive: true }))
          }
          this.#started = true
          this.#emit({ type: 'started' })
          return backend
        },
        (error) => {
          this.#backend = undefined
          throw error
        },
      )
    }
    return this.#backend
  }

  // ---------------------------------------------------------------- commands

  /**
   * Runs a command line (bash) in the sandbox. `cd` and `export` carry over to the next call. Output
   * is shaped while it streams: memory stays bounded however much the command prints.
   */
  async exec(command: string, options: ExecCallOptions = {}): Promise<CommandResult> {
    const backend = await this.backend()
    const id = ++this.#commandCounter
    const timeoutMs = this.#commandTimeout(options.timeoutMs)
    const limits = this.outputLimits(options.output)
    const startCwd = this.#state.cwd
    const marker = `__SAT_STATE_${randomToken()}__`
    const script = buildScript(
      command,
      { ...this.#state, cwd: this.commandPath(this.#state.cwd) },
      this.commandPath(this.workdir),
      marker,
    )
    const token = randomToken()
    const wrapped = wrapCommand(script, timeoutMs, token)
    const spill = this.options.spillOutput === false ? undefined : new Spill(this, backend, limits, id)
    const stdout = new StreamShaper(limits, marker, (data) => spill?.push(data))
    const stderr = new OutputCollector(limits)
    const started = Date.now()
    this.#emit({ type: 'command-started', id, command, cwd: startCwd })

    const deadline = new AbortController()
    const onAbort = () => deadline.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(
      () => deadline.abort(new SandboxTimeoutError(`deadline of ${timeoutMs + 5000} ms passed`)),
      timeoutMs + 5000,
    )
    const onProgress = options.onProgress
    const progress = onProgress
      ? throttle(100, () => onProgress({ stdout: stdout.snapshot(), stderr: stderr.snapshot() }))
      : undefined
    let exitCode: number | null = null
    let sawStart = false
    let streamError: unknown
    try {
      const stream = await this.#retry(
        'exec',
        false,
        () =>
          // no `signal` here: an AbortSignal cannot cross Durable Object RPC; aborting cancels our
          // read of the stream instead, and the sandbox's own timeout ends the command
          abortable(
            backend.execStream(wrapped, {
              cwd: this.workdir,
              env: this.#state.env,
              timeout: timeoutMs + 3000,
            }),
            deadline.signal,
          ),
        deadline.signal,
      )
      for await (const event of parseSSEStream<ExecEvent>(stream, deadline.signal)) {
        if (event.type === 'start') sawStart = true
        else if (event.type === 'stdout' && event.data) stdout.push(event.data)
        else if (event.type === 'stderr' && event.data) {
          stderr.push(event.data)
          spill?.push(event.data)
        } else if (event.type === 'complete') {
          exitCode = event.exitCode ?? event.result?.exitCode ?? null
        } else if (event.type === 'error') {
          throw new SandboxToolError('COMMAND_EXECUTION_ERROR', event.error ?? 'the command failed to run')
        }
        // backpressure: while the full-output file is slower than the command, stop reading
        await spill?.ready()
        progress?.()
      }
    } catch (error) {
      streamError = error
    } finally {
      clearTimeout(timer)
      progress?.cancel()
      options.signal?.removeEventListener('abort', onAbort)
    }
    const durationMs = Date.now() - started
    const aborted = options.signal?.aborted === true
    const deadlinePassed = deadline.signal.aborted && !aborted
    if (deadline.signal.aborted) {
      // we stopped listening; make sure the command stops too
      await withDeadline(
        backend.exec(killByToken(token), { timeout: 5000 }),
        10_000,
        'stopping the command',
      ).catch(() => {})
    }
    if (streamError !== undefined && !deadlinePassed && !aborted) {
      await spill?.close()
      this.#emit({ type: 'command-finished', id, command, exitCode: null, timedOut: false, durationMs })
      throw streamError
    }
    const timedOut = deadlinePassed || (exitCode === 124 && durationMs >= timeoutMs - 50) || exitCode === 137
    const shapedOut = stdout.finish()
    if (shapedOut.state) this.#applyState(shapedOut.state)
    const stderrText = stderr.finish()
    if (timedOut) {
      appendNote(
        stderrText,
        `Command timed out after ${timeoutMs} ms and was killed (with its child processes).`,
      )
    } else if (aborted) {
      appendNote(stderrText, 'Command was aborted by the caller.')
    }
    const fullOutputPath = await spill?.close()
    const result: CommandResult = {
      command,
      exitCode: timedOut || aborted ? null : exitCode,
      timedOut,
      stdout: shapedOut.shaped,
      stderr: stderrText,
      durationMs,
      cwd: this.#state.cwd,
      ...(fullOutputPath ? { fullOutputPath } : {}),
    }
    if (!sawStart && exitCode === null && !timedOut && !aborted) {
      appendNote(stderrText, 'The sandbox did not report an exit code for this command.')
    }
    this.#emit({ type: 'command-finished', id, command, exitCode: result.exitCode, timedOut, durationMs })
    return result
  }

  #commandTimeout(requested: number | undefined): number {
    const fallback = this.options.commandTimeoutMs ?? 120_000
    const max = this.options.maxCommandTimeoutMs ?? 15 * 60_000
    const value =
      requested === undefined || !Number.isFinite(requested) || requested <= 0 ? fallback : requested
    return Math.max(1, Math.min(value, max))
  }

  #applyState(state: string): void {
    // state: "<pwd>\n<env -0 output>" then "-NAME\0" for each variable the command unset
    const newline = state.indexOf('\n')
    if (newline < 0) return
    const cwd = state.slice(0, newline)
    if (cwd.startsWith('/')) this.#state.cwd = this.sandboxPath(cwd)
    const env: Record<string, string> = {}
    const unset = new Set(this.#state.unset)
    for (const entry of state.slice(newline + 1).split('\0')) {
      if (entry.startsWith('-')) {
        if (!UNTRACKED_ENV.has(entry.slice(1))) unset.add(entry.slice(1))
        continue
      }
      const eq = entry.indexOf('=')
      if (eq <= 0) continue
      const key = entry.slice(0, eq)
      if (UNTRACKED_ENV.has(key) || key.startsWith('BASH_FUNC_')) continue
      env[key] = entry.slice(eq + 1)
    }
    for (const key of Object.keys(this.#state.env)) if (!(key in env)) unset.add(key)
    for (const key of Object.keys(env)) unset.delete(key)
    this.#state = { cwd: this.#state.cwd, env, unset }
  }

  /**
   * A sandbox path as commands see it. The same path everywhere, except on a local backend without
   * isolation, where commands see the host folder behind /workspace. Use it for paths put into
   * command lines (`execRaw`).
   */
  commandPath(path: string): string {
    const root = this.#commandWorkspace
    if (!root || !(path === DEFAULT_WORKDIR || path.startsWith(`${DEFAULT_WORKDIR}/`))) return path
    return root + path.slice(DEFAULT_WORKDIR.length)
  }

  /** The inverse of {@link commandPath}: a path a command printed, as a sandbox path. */
  sandboxPath(path: string): string {
    const root = this.#commandWorkspace
    if (!root || !(path === root || path.startsWith(`${root}/`))) return path
    return DEFAULT_WORKDIR + path.slice(root.length)
  }

  /**
   * Runs a helper command as is: no cwd/env tracking, no output shaping beyond the backend's, not
   * announced as a command event. For tools that need a one-off query (find, stat…).
   */
  async execRaw(command: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const backend = await this.backend()
    const timeout = options.timeoutMs ?? 30_000
    return this.#call(
      'exec',
      false,
      () => backend.exec(command, { cwd: this.workdir, timeout }),
      timeout + 5000,
    )
  }

  // ---------------------------------------------------------------- paths and files

  /**
   * Resolves a path a model gave (relative to the workdir, or absolute inside it) to an absolute
   * sandbox path, refusing anything outside — symlinks included, resolved inside the sandbox.
   */
  async resolvePath(path: string): Promise<string> {
    const lexical = resolveWorkspacePath(path, { workdir: this.workdir })
    if (this.options.checkSymlinks === false) return lexical
    const backend = await this.backend()
    const workdirReal = await this.#realWorkdir(backend)
    const realpath = async (p: string) => (p === this.workdir ? workdirReal : this.#realpath(backend, p))
    await assertRealpathInside(lexical, this.workdir, realpath)
    return lexical
  }

  #realWorkdir(backend: SandboxBackend): Promise<string> {
    if (!this.#workdirReal) {
      this.#workdirReal = this.#realpath(backend, this.workdir).catch((error) => {
        this.#workdirReal = undefined
        throw error
      })
    }
    return this.#workdirReal
  }

  async #realpath(backend: SandboxBackend, path: string): Promise<string> {
    const result = await this.#call('realpath', true, () =>
      backend.exec(`realpath -m -- ${shellQuote(this.commandPath(path))}`, { timeout: 10_000 }),
    )
    if (result.exitCode !== 0) {
      throw new SandboxToolError(
        'REALPATH_FAILED',
        `Could not resolve ${path} in the sandbox: ${result.stderr.trim()}`,
      )
    }
    return this.sandboxPath(result.stdout.replace(/\n$/, ''))
  }

  /** Reads a file (contained path). Binary files come back base64 with `isBinary: true`. */
  async readFile(path: string, options: ReadFileOptions = {}): Promise<ReadFileResult> {
    const abs = await this.resolvePath(path)
    const backend = await this.backend()
    return this.#call('readFile', true, () =>
      backend.readFile(abs, options.encoding ? { encoding: options.encoding } : undefined),
    )
  }

  /**
   * Writes a file (contained path), creating parent directories. The content lands atomically: it is
   * written beside the target and moved over it, so a failed write never leaves a half file.
   */
  async writeFile(
    path: string,
    content: string,
    options: { encoding?: 'utf-8' | 'base64' } = {},
  ): Promise<string> {
    const abs = await this.resolvePath(path)
    const backend = await this.backend()
    const dir = parentDir(abs)
    if (dir !== this.workdir) await this.#call('mkdir', true, () => backend.mkdir(dir, { recursive: true }))
    const temp = `${dir}/.${basename(abs)}.sat-${randomToken()}.tmp`
    const encoding = options.encoding ?? 'utf-8'
    await this.#call('writeFile', true, () => backend.writeFile(temp, content, { encoding }))
    // keep the mode of a file being replaced (an executable script stays executable), then move over it
    const q = (p: string) => shellQuote(this.commandPath(p))
    const replace = await this.#call('exec', false, () =>
      backend.exec(`chmod --reference=${q(abs)} ${q(temp)} 2>/dev/null; mv -f -- ${q(temp)} ${q(abs)}`, {
        timeout: 10_000,
      }),
    ).catch((error) => ({ exitCode: -1, stderr: describeError(error) }))
    if (replace.exitCode !== 0) {
      await backend.deleteFile(temp).catch(() => {})
      throw new SandboxToolError('WRITE_FAILED', `Could not write ${abs}: ${replace.stderr.trim()}`)
    }
    const bytes = encoding === 'base64' ? Math.floor((content.length * 3) / 4) : utf8Length(content)
    this.#emit({ type: 'file-written', path: abs, bytes })
    return abs
  }

  async deleteFile(path: string): Promise<string> {
    const abs = await this.resolvePath(path)
    const backend = await this.backend()
    await this.#call('deleteFile', false, () => backend.deleteFile(abs))
    return abs
  }

  /** Moves a file; both ends must be inside the workspace. Creates the destination's parents. */
  async moveFile(from: string, to: string): Promise<{ from: string; to: string }> {
    const [src, dst] = await Promise.all([this.resolvePath(from), this.resolvePath(to)])
    const backend = await this.backend()
    const dir = parentDir(dst)
    if (dir !== this.workdir) await this.#call('mkdir', true, () => backend.mkdir(dir, { recursive: true }))
    await this.#call('moveFile', false, () => backend.moveFile(src, dst))
    return { from: src, to: dst }
  }

  async exists(path: string): Promise<boolean> {
    const abs = await this.resolvePath(path)
    const backend = await this.backend()
    return (await this.#call('exists', true, () => backend.exists(abs))).exists
  }

  async listFiles(
    path = '.',
    options: { recursive?: boolean; includeHidden?: boolean } = {},
  ): Promise<FileInfo[]> {
    const abs = await this.resolvePath(path)
    const backend = await this.backend()
    return (await this.#call('listFiles', true, () => backend.listFiles(abs, options))).files
  }

  // ---------------------------------------------------------------- code, processes, ports

  /** Runs code in a persistent context per language (state survives between calls). */
  async runCode(
    code: string,
    options: { language?: CodeLanguage; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ExecutionResult> {
    const backend = await this.backend()
    const language = options.language ?? 'python'
    const timeout = this.#commandTimeout(options.timeoutMs)
    const context = await this.#codeContext(backend, language)
    try {
      return await this.#call(
        'runCode',
        false,
        () => abortable(backend.runCode(code, { context, timeout }), options.signal),
        timeout + 5000,
      )
    } catch (error) {
      if (errorCode(error) === 'CONTEXT_NOT_FOUND') this.#dropContext(language, context)
      throw error
    }
  }

  #dropContext(language: CodeLanguage, context: CodeContext): void {
    const ready = this.#readyContexts.get(language)
    if (ready && ready !== context) return // already replaced by a newer context
    this.#codeContexts.delete(language)
    this.#readyContexts.delete(language)
  }

  #codeContext(backend: SandboxBackend, language: CodeLanguage): Promise<CodeContext> {
    let context = this.#codeContexts.get(language)
    if (!context) {
      const created = this.#call('createCodeContext', false, () =>
        backend.createCodeContext({ language, cwd: this.workdir }),
      )
      created.then(
        (ready) => {
          if (this.#codeContexts.get(language) === created) this.#readyContexts.set(language, ready)
        },
        () => {
          if (this.#codeContexts.get(language) === created) this.#codeContexts.delete(language)
        },
      )
      this.#codeContexts.set(language, created)
      context = created
    }
    return context
  }

  /** Starts a background process in the current working directory with the tracked variables. */
  async startProcess(command: string, options: { processId?: string } = {}): Promise<ProcessInfo> {
    const backend = await this.backend()
    return this.#call('startProcess', false, () =>
      backend.startProcess(command, {
        cwd: this.#state.cwd,
        env: this.#state.env,
        ...(options.processId ? { processId: options.processId } : {}),
      }),
    )
  }

  async getProcess(id: string): Promise<ProcessInfo | null> {
    const backend = await this.backend()
    return this.#call('getProcess', true, () => backend.getProcess(id))
  }

  async listProcesses(): Promise<ProcessInfo[]> {
    const backend = await this.backend()
    return this.#call('listProcesses', true, () => backend.listProcesses())
  }

  async processLogs(id: string): Promise<{ stdout: string; stderr: string }> {
    const backend = await this.backend()
    return this.#call('getProcessLogs', true, () => backend.getProcessLogs(id))
  }

  async killProcess(id: string): Promise<void> {
    const backend = await this.backend()
    await this.#call('killProcess', true, () => backend.killProcess(id))
  }

  /** A URL that reaches `port` in the sandbox (Cloudflare: a preview URL on `previewHostname`). */
  async exposePort(port: number, options: { name?: string } = {}): Promise<{ url: string; port: number }> {
    const backend = await this.backend()
    const hostname = this.options.previewHostname ?? 'localhost'
    const result = await this.#call('exposePort', true, () =>
      backend.exposePort(port, { hostname, ...(options.name ? { name: options.name } : {}) }),
    )
    return { url: result.url, port: result.port }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Destroys the sandbox (idempotent). A session that never started destroys nothing. */
  destroy(): Promise<void> {
    if (!this.#destroying) {
      this.#destroyed = true
      const backend = this.#backend
      this.#destroying = (async () => {
        if (backend) {
          const b = await backend.catch(() => DESTROYED)
          if (b !== DESTROYED) await this.#call('destroy', true, () => (b as SandboxBackend).destroy())
        }
        this.#emit({ type: 'destroyed' })
      })()
    }
    return this.#destroying
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy()
  }

  // ---------------------------------------------------------------- deadlines and retries

  /** A backend call with the client-side deadline and retries (idempotent calls only retry freely). */
  #call<T>(operation: string, idempotent: boolean, fn: () => Promise<T>, deadlineMs?: number): Promise<T> {
    const ms = deadlineMs ?? this.options.callTimeoutMs ?? 60_000
    return this.#retry(operation, idempotent, () => withDeadline(fn(), ms, operation))
  }

  async #retry<T>(
    operation: string,
    idempotent: boolean,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const retries = this.options.retry?.retries ?? 4
    const minDelay = this.options.retry?.minDelayMs ?? 250
    const maxDelay = this.options.retry?.maxDelayMs ?? 4000
    const budget = this.options.retry?.budgetMs ?? 30_000
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      if (this.#destroyed && operation !== 'destroy') throw new SessionDestroyedError()
      try {
        return await fn()
      } catch (error) {
        const retryable = idempotent ? isTransient(error) : provablyNotStarted(error)
        if (!retryable || attempt > retries || signal?.aborted) throw error
        const hinted = retryAfterMs(error)
        const delay = Math.min(
          maxDelay,
          hinted ?? minDelay * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5),
        )
        if (Date.now() - started + delay > budget) throw error
        this.#emit({
          type: 'retry',
          operation,
          attempt,
          delayMs: Math.round(delay),
          error: describeError(error),
        })
        await sleep(delay)
      }
    }
  }
}

/** Creates a session. Nothing starts until the first operation. */
export function createSession(options: SessionOptions): SandboxSession {
  return new SandboxSession(options)
}

/** Runs `fn` with a fresh session and destroys the sandbox afterwards — on return and on throw. */
export async function withSession<T>(
  options: SessionOptions,
  fn: (session: SandboxSession) => Promise<T>,
): Promise<T> {
  const session = createSession(options)
  try {
    return await fn(session)
  } finally {
    await session.destroy()
  }
}

// ------------------------------------------------------------------ helpers

/** Errors worth retrying for an idempotent call: the platform, not the request, failed. */
export function isTransient(error: unknown): boolean {
  const code = errorCode(error)
  if (code === 'CONTAINER_UNAVAILABLE' || code === 'RPC_TRANSPORT_ERROR') return true
  if (code === 'OPERATION_INTERRUPTED') return contextOf(error)?.retryable === true
  if (code === 'SANDBOX_DESTROYED') return false
  return false
}

/** Errors that prove the call never reached the sandbox: safe to retry even a command. */
export function provablyNotStarted(error: unknown): boolean {
  const code = errorCode(error)
  const context = contextOf(error)
  if (code === 'CONTAINER_UNAVAILABLE') return true
  if (code === 'RPC_TRANSPORT_ERROR') {
    const kind = (error as { kind?: unknown }).kind ?? context?.kind
    return kind === 'connection_failed' || kind === 'upgrade_failed'
  }
  if (code === 'OPERATION_INTERRUPTED') return context?.retryable === true && context?.admitted === false
  return false
}

function contextOf(error: unknown): Record<string, unknown> | undefined {
  const context = (error as { context?: unknown } | null)?.context
  return context && typeof context === 'object' ? (context as Record<string, unknown>) : undefined
}

function retryAfterMs(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs ?? contextOf(error)?.retryAfterMs
  return typeof value === 'number' && value >= 0 ? value : undefined
}

function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SandboxTimeoutError(`The sandbox did not answer ${operation} within ${ms} ms.`, {
            hint: 'The sandbox may be starting or overloaded; try again, or use a simpler operation.',
          }),
        ),
      ms,
    )
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** Calls `fn` at most every `ms`, with a trailing call so the last update is never lost. */
function throttle(ms: number, fn: () => void): (() => void) & { cancel(): void } {
  let last = 0
  let pending: ReturnType<typeof setTimeout> | undefined
  const run = () => {
    pending = undefined
    last = Date.now()
    fn()
  }
  const call = () => {
    if (pending) return
    const wait = last + ms - Date.now()
    if (wait <= 0) run()
    else pending = setTimeout(run, wait)
  }
  return Object.assign(call, { cancel: () => clearTimeout(pending) })
}

/**
 * Rejects when `signal` aborts. The signal stays on this side: an AbortSignal cannot cross
 * Durable Object RPC (workerd refuses to serialize it).
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function randomToken(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 16)
}

function normalizeWorkdir(workdir: string): string {
  if (!workdir.startsWith('/')) throw new TypeError(`createSession: workdir must be absolute, got ${workdir}`)
  return workdir.length > 1 ? workdir.replace(/\/+$/, '') : workdir
}

function parentDir(abs: string): string {
  const i = abs.lastIndexOf('/')
  return i <= 0 ? '/' : abs.slice(0, i)
}

function basename(abs: string): string {
  return abs.slice(abs.lastIndexOf('/') + 1)
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length
}

function appendNote(shaped: ShapedText, note: string): void {
  shaped.text =
    shaped.text && !shaped.text.endsWith('\n') ? `${shaped.text}\n${note}` : `${shaped.text}${note}`
}

/**
 * How a script is launched. coreutils `timeout` runs it in a process group of its own and ends it at
 * the deadline; when it is over — finished, timed out, or this wrapper told to stop (the backend
 * cancelling the command) — the whole group is killed, so background children (`server &`) neither
 * outlive the call nor hold its output open. The backend's timeout and the client deadline are
 * backstops. Long-lived processes belong in start_process.
 */
function wrapCommand(script: string, timeoutMs: number, token: string): string {
  const cleanup = `kill -KILL -- -$__sat_w 2>/dev/null; ${killByToken(token)}`
  return [
    `trap '${cleanup}; exit 143' TERM HUP INT`,
    `export ${COMMAND_TOKEN}=${token}`,
    `timeout -k 0.5 ${(timeoutMs / 1000).toFixed(3)} bash -c ${shellQuote(script)} &`,
    '__sat_w=$!',
    `unset ${COMMAND_TOKEN}`,
    'wait $__sat_w; __sat_rc=$?',
    cleanup,
    'exit $__sat_rc',
  ].join('\n')
}

/**
 * Kills every process carrying a command's token in its environment — processes that left its
 * group (setsid, daemons) included. Also how an aborted command is stopped: an abort signal does not
 * reach the container, so the session sends this instead.
 */
function killByToken(token: string): string {
  return (
    `for __sat_p in $(grep -lsxz '${COMMAND_TOKEN}=${token}' /proc/[0-9]*/environ); ` +
    `do __sat_p=\${__sat_p#/proc/}; kill -KILL "\${__sat_p%/environ}" 2>/dev/null; done; true`
  )
}

/**
 * The script a command runs as: restore the tracked cwd (falling back to the workdir if it is
 * gone) and unset variables, run the command, and on exit — however the command ends, `exit N`
 * included — print a marker, the new cwd and the environment for the session to pick up.
 */
function buildScript(command: string, state: TrackedState, workdir: string, marker: string): string {
  const lines = [
    // exported names at the start: those gone at the end were unset by the command ("-NAME" entries)
    '__sat_names=$(compgen -e)',
    `trap '__sat_rc=$?; printf "\\n%s\\n%s\\n" ${marker} "$PWD"; env -0; ` +
      `for __sat_n in $__sat_names; do [ -n "\${!__sat_n+x}" ] || printf -- "-%s\\0" "$__sat_n"; done; ` +
      `printf "%s" ${marker}; exit $__sat_rc' EXIT`,
    state.cwd === workdir
      ? `cd ${shellQuote(workdir)}`
      : `cd ${shellQuote(state.cwd)} 2>/dev/null || { echo "note: ${state.cwd.replace(/["$`\\]/g, '')} no longer exists; running in ${workdir}" >&2; cd ${shellQuote(workdir)}; }`,
  ]
  const unset = [...state.unset].filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
  if (unset.length) lines.push(`unset ${unset.join(' ')}`)
  lines.push(command)
  return lines.join('\n')
}

/**
 * Shapes stdout while holding back its last bytes, so the state block the script prints after the
 * marker is split off and never reaches the model.
 */
class StreamShaper {
  #collector: OutputCollector
  #holdback = ''

  constructor(
    private readonly limits: OutputLimits,
    private readonly marker: string,
    /** Receives the command's own output (never the state block) as it is released. */
    private readonly sink: (data: string) => void,
  ) {
    this.#collector = new OutputCollector(limits)
  }

  push(chunk: string): void {
    this.#holdback += chunk
    if (this.#holdback.length > STATE_HOLDBACK_BYTES * 2)
      this.#release(this.#holdback.length - STATE_HOLDBACK_BYTES)
  }

  #release(length: number): void {
    const data = this.#holdback.slice(0, length)
    this.#holdback = this.#holdback.slice(length)
    this.#collector.push(data)
    this.sink(data)
  }

  /** The output so far (for progress), never including the state block or a partial marker. */
  snapshot(): string {
    const marker = `\n${this.marker}\n`
    let pending = this.#holdback
    const at = pending.indexOf(marker)
    if (at >= 0) pending = pending.slice(0, at)
    else {
      for (let k = Math.min(pending.length, marker.length - 1); k > 0; k--) {
        if (pending.endsWith(marker.slice(0, k))) {
          pending = pending.slice(0, -k)
          break
        }
      }
    }
    return shapeText(this.#collector.snapshot() + pending, this.limits).text
  }

  finish(): { shaped: ShapedText; state?: string } {
    const at = this.#holdback.lastIndexOf(`\n${this.marker}\n`)
    if (at < 0) {
      this.#release(this.#holdback.length)
      return { shaped: this.#collector.finish() }
    }
    const block = this.#holdback.slice(at + this.marker.length + 2)
    this.#release(at)
    // the block ends with the marker again: a block cut short (the command killed while it was
    // printed) is ignored rather than read as variables that were unset
    if (!block.endsWith(this.marker)) return { shaped: this.#collector.finish() }
    return { shaped: this.#collector.finish(), state: block.slice(0, -this.marker.length) }
  }
}

/**
 * Saves the complete output of a command to a file in the sandbox once it outgrows the limit:
 * output is kept in memory only until then, afterwards it streams into the file.
 */
class Spill {
  #pending: string[] = []
  #pendingBytes = 0
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined
  #done: Promise<unknown> | undefined
  #path: string | undefined
  #failed = false
  readonly #encoder = new TextEncoder()

  constructor(
    private readonly session: SandboxSession,
    private readonly backend: SandboxBackend,
    private readonly limits: OutputLimits,
    private readonly id: number,
  ) {}

  push(chunk: string): void {
    if (this.#failed) return
    if (this.#writer) {
      this.#writer.write(this.#encoder.encode(chunk)).catch(() => {
        this.#failed = true
      })
      return
    }
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    if (this.#pendingBytes > (this.limits.maxBytes ?? DEFAULT_MAX_BYTES)) this.#open()
  }

  #open(): void {
    const dir = this.session.options.spillDir ?? `${this.session.workdir}/.sandbox-agent-tools/output`
    this.#path = `${dir}/command-${Date.now()}-${this.id}.log`
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    this.#writer = writable.getWriter()
    const path = this.#path
    this.#done = this.backend
      .mkdir(dir, { recursive: true })
      .then(() => this.backend.writeFile(path, readable))
      .catch(() => {
        this.#failed = true
        readable.cancel().catch(() => {})
      })
    for (const chunk of this.#pending) this.#writer.write(this.#encoder.encode(chunk)).catch(() => {})
    this.#pending = []
  }

  /** Resolves when the file can take more (the caller stops reading the command meanwhile). */
  ready(): Promise<unknown> | undefined {
    return this.#writer && !this.#failed ? this.#writer.ready : undefined
  }

  /** Finishes the file; returns its path if the full output was saved. */
  async close(): Promise<string | undefined> {
    if (!this.#writer) return undefined
    await this.#writer.close().catch(() => {})
    await withDeadline(Promise.resolve(this.#done), 30_000, 'saving the full output').catch(() => {
      this.#failed = true
    })
    return this.#failed ? undefined : this.#path
  }
}
