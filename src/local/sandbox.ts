import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, realpath, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {
  CodeContext,
  CreateContextOptions,
  ExecEvent,
  ExecOptions,
  ExecResult,
  ExecutionResult,
  ExposedPort,
  ExposePortOptions,
  ListFilesOptions,
  ProcessInfo,
  ProcessOptions,
  RunCodeOptions,
  SandboxBackend,
  StreamOptions,
} from '../backend.js'
import { encodeSSE } from '../sse.js'
import { LocalSandboxError } from './errors.js'
import { SandboxFiles } from './files.js'
import type { CodeInterpreter, DriverSpawner } from './interpreter.js'
import {
  bwrapAvailable,
  type IsolationMode,
  JAIL_NODE,
  Jail,
  killMarkedProcesses,
  Limiter,
  MARKER_VARIABLE,
  type SandboxLimits,
} from './isolation.js'
import { MountTable, WORKSPACE } from './mounts.js'
import { PortForwarder, Relay } from './ports.js'
import { killGroup, ProcessTable, type Spawned, supervise, watch } from './processes.js'

export interface LocalSandboxOptions {
  /**
   * Host folder behind /workspace. Default `<os.tmpdir()>/sandbox-agent-tools-<uid>/<id>` (one
   * parent per user: a shared one would let users squat each other's ids). destroy()
   * deletes it when it is the default or the sandbox created it; a folder that existed is kept.
   */
  root?: string
  /** 'auto' (default): bubblewrap when it works here (probed once), else plain processes with a warning. */
  isolation?: 'auto' | 'bwrap' | 'none'
  /** Let commands reach the network (bwrap mode shares the host's network namespace). Default false. */
  allowNetwork?: boolean
  /** Resource limits; none by default. See {@link SandboxLimits} for how each is enforced. */
  limits?: SandboxLimits
  /** Environment variables of every command, on top of PATH, HOME, LANG and TERM. */
  env?: Record<string, string>
  /** Host name in the URLs of exposed ports. Default '127.0.0.1'. */
  previewHostname?: string
}

interface Setup {
  table: MountTable
  files: SandboxFiles
  limiter: Limiter
  state: string
  env: Record<string, string>
  ownsRoot: boolean
}

/** Everything a command needs to be launched synchronously (the code interpreter's spawner). */
interface Launcher {
  setup: Setup
  jail: Jail | undefined
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

const sandboxes = new Map<string, LocalSandbox>()
/** Sandboxes being destroyed, by id: a new sandbox with the same id waits for its folder to be gone. */
const destroying = new Map<string, Promise<void>>()
let warnedNoIsolation = false

/** Private state folders of live sandboxes, removed if the process exits without destroy(). */
const stateFolders = new Set<string>()
let removeOnExit = false
function keepUntilExit(folder: string) {
  if (!removeOnExit) {
    removeOnExit = true
    process.once('exit', () => {
      for (const f of stateFolders) rmSync(f, { recursive: true, force: true })
    })
  }
  stateFolders.add(folder)
}

/**
 * The local backend: a `SandboxBackend` on this machine. Same id → same sandbox until destroyed;
 * afterwards the id gives a fresh one (as on Cloudflare). Nothing happens until the first call.
 */
export function localSandbox(id: string, options: LocalSandboxOptions = {}): LocalSandbox {
  let sandbox = sandboxes.get(id)
  if (!sandbox) {
    sandbox = new LocalSandbox(id, options)
    sandboxes.set(id, sandbox)
  }
  return sandbox
}

export class LocalSandbox implements SandboxBackend {
  /** How commands are isolated: 'bwrap' (bubblewrap jail) or 'none' (plain host processes). */
  readonly isolation: IsolationMode
  /** Host folder behind /workspace. */
  readonly root: string
  private readonly defaultRoot: boolean
  private setup?: Promise<Setup>
  private jailStarting?: Promise<Jail>
  private launcher?: Launcher
  private relayOfJail?: { jail: Jail; relay: Promise<Relay> }
  private interpreter?: Promise<CodeInterpreter>
  private destroyed?: Promise<void>
  private readonly running = new Set<Spawned>()
  private readonly processes = new ProcessTable((command, options) => this.spawnShell(command, options))
  private readonly exposed = new Map<number, ExposedPort>()
  private readonly forwarder = new PortForwarder(() => this.relay())
  private readonly marker = randomUUID()

  /**
   * Where commands see the workspace: '/workspace' in a jail; without isolation, the host folder
   * (the file API maps /workspace paths itself, commands cannot). The session translates paths it
   * puts into commands with this.
   */
  get commandWorkspace(): string {
    return this.isolation === 'bwrap' ? WORKSPACE : this.root
  }

  /** Use {@link localSandbox}: it returns the live sandbox of an id. */
  constructor(
    readonly id: string,
    private readonly options: LocalSandboxOptions = {},
  ) {
    this.isolation = resolveIsolation(options.isolation ?? 'auto')
    this.defaultRoot = options.root === undefined
    this.root =
      options.root ?? join(tmpdir(), `sandbox-agent-tools-${process.getuid?.() ?? 0}`, folderName(id))
  }

  // ── commands ────────────────────────────────────────────────────────────────────────────────

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    try {
      this.assertLive()
      if (options.signal?.aborted) throw new Error('Operation was aborted')
      const started = Date.now()
      const spawned = await this.spawnShell(command, options)
      const output = { stdout: '', stderr: '' }
      const live = options.stream ? options.onOutput : undefined
      const { exitCode, timedOut } = await supervise(spawned, {
        timeout: options.timeout,
        signal: options.signal,
        onOutput: (stream, data) => {
          output[stream] += data
          live?.(stream, data)
        },
      })
      if (timedOut) {
        const note = `Command timed out after ${options.timeout}ms`
        live?.('stderr', `${note}\n`)
        output.stderr += output.stderr === '' || output.stderr.endsWith('\n') ? note : `\n${note}`
      }
      const result: ExecResult = {
        success: exitCode === 0,
        exitCode,
        ...output,
        command,
        duration: Date.now() - started,
        timestamp: new Date(started).toISOString(),
      }
      options.onComplete?.(result)
      return result
    } catch (error) {
      if (error instanceof Error) options.onError?.(error)
      throw error
    }
  }

  /**
   * SSE of {@link ExecEvent}s, produced as the command writes: start (with pid), stdout/stderr
   * chunks, then complete (exitCode; like the container, no `result`) or error. Reading slowly
   * pauses the command's output pipes, so memory stays bounded; cancelling kills the command.
   */
  async execStream(command: string, options: StreamOptions = {}): Promise<ReadableStream<Uint8Array>> {
    this.assertLive()
    if (options.signal?.aborted) throw new Error('Operation was aborted')
    const spawned = await this.spawnShell(command, options)
    const { child } = spawned
    const timestamp = () => new Date().toISOString()
    let open = true
    return new ReadableStream<Uint8Array>(
      {
        start(controller) {
          const send = (event: ExecEvent) => {
            if (!open) return
            controller.enqueue(encodeSSE(event))
            if ((controller.desiredSize ?? 1) <= 0) {
              child.stdout?.pause()
              child.stderr?.pause()
            }
          }
          const finish = () => {
            if (open) controller.close()
            open = false
          }
          send({ type: 'start', timestamp: timestamp(), command, pid: child.pid })
          supervise(spawned, {
            timeout: options.timeout,
            signal: options.signal,
            onOutput: (type, data) => send({ type, timestamp: timestamp(), data }),
          }).then(
            ({ exitCode, timedOut }) => {
              if (timedOut) {
                send({
                  type: 'stderr',
                  timestamp: timestamp(),
                  data: `Command timed out after ${options.timeout}ms\n`,
                })
              }
              send({ type: 'complete', timestamp: timestamp(), exitCode })
              finish()
            },
            (error: Error) => {
              send({ type: 'error', timestamp: timestamp(), error: error.message })
              finish()
            },
          )
        },
        pull() {
          child.stdout?.resume()
          child.stderr?.resume()
        },
        cancel() {
          open = false
          void killGroup(spawned)
        },
      },
      { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
    )
  }

  // ── files ───────────────────────────────────────────────────────────────────────────────────

  async writeFile(
    path: string,
    content: string | ReadableStream<Uint8Array>,
    options?: { encoding?: string },
  ) {
    return (await this.files()).writeFile(path, content, options)
  }

  async readFile(path: string, options?: { encoding?: 'utf-8' | 'utf8' | 'base64' }) {
    return (await this.files()).readFile(path, options)
  }

  async mkdir(path: string, options?: { recursive?: boolean }) {
    return (await this.files()).mkdir(path, options)
  }

  async deleteFile(path: string) {
    return (await this.files()).deleteFile(path)
  }

  async renameFile(oldPath: string, newPath: string) {
    return (await this.files()).renameFile(oldPath, newPath)
  }

  async moveFile(sourcePath: string, destinationPath: string) {
    return (await this.files()).moveFile(sourcePath, destinationPath)
  }

  async listFiles(path: string, options?: ListFilesOptions) {
    return (await this.files()).listFiles(path, options)
  }

  async exists(path: string, _sessionId?: string) {
    return (await this.files()).exists(path)
  }

  // ── processes ───────────────────────────────────────────────────────────────────────────────

  async startProcess(command: string, options?: ProcessOptions): Promise<ProcessInfo> {
    this.assertLive()
    return this.processes.start(command, options)
  }

  async listProcesses(_sessionId?: string): Promise<ProcessInfo[]> {
    this.assertLive()
    return this.processes.list()
  }

  async getProcess(id: string, _sessionId?: string): Promise<ProcessInfo | null> {
    this.assertLive()
    return this.processes.get(id)
  }

  async getProcessLogs(id: string): Promise<{ stdout: string; stderr: string; processId: string }> {
    this.assertLive()
    return this.processes.logs(id)
  }

  async killProcess(id: string, signal?: string): Promise<void> {
    this.assertLive()
    await this.processes.kill(id, signal)
  }

  async killAllProcesses(): Promise<number> {
    this.assertLive()
    return this.processes.killAll()
  }

  // ── code interpreter (src/local/interpreter.ts, loaded on first use) ────────────────────────

  async createCodeContext(options?: CreateContextOptions): Promise<CodeContext> {
    return (await this.codeInterpreter()).createContext(options)
  }

  async runCode(code: string, options?: RunCodeOptions): Promise<ExecutionResult> {
    return (await this.codeInterpreter()).runCode(code, options)
  }

  async deleteCodeContext(contextId: string): Promise<void> {
    return (await this.codeInterpreter()).deleteContext(contextId)
  }

  private async codeInterpreter(): Promise<CodeInterpreter> {
    this.assertLive()
    await this.launch()
    this.interpreter ??= import('./interpreter.js').then(
      ({ CodeInterpreter }) =>
        new CodeInterpreter({
          spawn: this.spawnDriver,
          workdir: WORKSPACE,
          node: this.isolation === 'bwrap' ? JAIL_NODE : process.execPath,
        }),
    )
    return this.interpreter
  }

  /** Drivers start like commands (same jail, limits and env), with a stdin pipe. */
  private readonly spawnDriver: DriverSpawner = (argv, { cwd, env }) => {
    if (!this.launcher) throw new LocalSandboxError('INTERPRETER_NOT_READY', 'The sandbox is not started')
    const { setup, jail } = this.launcher
    const path = MountTable.normalize(cwd)
    const dir = jail ? path : (setup.table.hostPath(path)?.host ?? path)
    const { child } = this.spawnIn(this.launcher, argv, dir, { ...setup.env, ...env }, 'pipe')
    return child as ReturnType<DriverSpawner>
  }

  // ── ports ───────────────────────────────────────────────────────────────────────────────────

  /**
   * A URL on the host that reaches `port` in the sandbox: `http://127.0.0.1:<hostPort>/`. The
   * port is forwarded when the sandbox has its own network (bwrap without `allowNetwork`), else
   * it is the same port on the host. `hostname` is Cloudflare's and is not used here.
   */
  async exposePort(port: number, options: ExposePortOptions): Promise<ExposedPort> {
    this.assertLive()
    validatePort(port)
    const existing = this.exposed.get(port)
    if (existing) {
      existing.name = options.name ?? existing.name
      return { ...existing }
    }
    await this.launch()
    const forwarded = this.isolation === 'bwrap' && !this.options.allowNetwork
    const hostPort = forwarded ? await this.forwarder.open(port) : port
    const exposed: ExposedPort = {
      url: `http://${this.options.previewHostname ?? '127.0.0.1'}:${hostPort}/`,
      port,
      name: options.name,
    }
    this.exposed.set(port, exposed)
    return { ...exposed }
  }

  async unexposePort(port: number): Promise<void> {
    this.assertLive()
    validatePort(port)
    this.forwarder.close(port)
    this.exposed.delete(port)
  }

  async getExposedPorts(_hostname: string): Promise<{ url: string; port: number; status: 'active' }[]> {
    this.assertLive()
    return [...this.exposed.values()].map(({ url, port }) => ({ url, port, status: 'active' as const }))
  }

  private async relay(): Promise<Relay> {
    const { setup, jail } = await this.launch()
    if (!jail) throw new Error('no network namespace to relay into')
    if (this.relayOfJail?.jail !== jail) {
      const relay = Relay.start((argv) => jail.spawnInNetwork(argv), join(setup.state, 'relay.sock'))
      const entry = { jail, relay }
      this.relayOfJail = entry
      relay.catch(() => {
        if (this.relayOfJail === entry) this.relayOfJail = undefined
      })
      void jail.exited.then(async () => (await relay.catch(() => undefined))?.stop())
    }
    return this.relayOfJail.relay
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /** Kills every process of the sandbox, removes its folders. Idempotent. */
  destroy(): Promise<void> {
    if (!this.destroyed) {
      this.destroyed = this.teardown()
      destroying.set(this.id, this.destroyed)
      if (sandboxes.get(this.id) === this) sandboxes.delete(this.id)
      void this.destroyed.finally(() => {
        if (destroying.get(this.id) === this.destroyed) destroying.delete(this.id)
      })
    }
    return this.destroyed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy()
  }

  private async teardown(): Promise<void> {
    const setup = await this.setup?.catch(() => undefined)
    if (!setup) return
    await (await this.interpreter?.catch(() => undefined))?.destroy().catch(() => {})
    this.forwarder.closeAll()
    const jail = await this.jailStarting?.catch(() => undefined)
    if (jail) await jail.stop()
    if (this.isolation === 'none') await killMarkedProcesses(this.marker)
    await Promise.all([...this.running].map((spawned) => killGroup(spawned, 'SIGKILL')))
    await (await this.relayOfJail?.relay.catch(() => undefined))?.stop()
    await setup.limiter.release()
    await rm(setup.state, { recursive: true, force: true })
    stateFolders.delete(setup.state)
    if (setup.ownsRoot) await rm(this.root, { recursive: true, force: true })
  }

  private assertLive() {
    if (this.destroyed) {
      throw new LocalSandboxError(
        'SANDBOX_DESTROYED',
        `Sandbox ${this.id} has been destroyed; localSandbox(${JSON.stringify(this.id)}) gives a fresh one`,
        { context: { sandboxId: this.id } },
      )
    }
  }

  // ── setting up and starting commands ────────────────────────────────────────────────────────

  private async files(): Promise<SandboxFiles> {
    this.assertLive()
    return (await this.prepare()).files
  }

  /** Folders, mount table, limits: once. */
  private prepare(): Promise<Setup> {
    this.setup ??= (async () => {
      await destroying.get(this.id)
      const ownsRoot = this.defaultRoot || !existsSync(this.root)
      await mkdir(this.root, { recursive: true })
      const state = await mkdtemp(join(tmpdir(), 'sandbox-agent-tools-state-'))
      keepUntilExit(state)
      await Promise.all([mkdir(join(state, 'tmp')), mkdir(join(state, 'home'))])
      const table = new MountTable([
        { at: WORKSPACE, host: await realpath(this.root), writable: true },
        { at: '/tmp', host: join(state, 'tmp'), writable: true },
        { at: '/root', host: join(state, 'home'), writable: true },
      ])
      const limiter = await Limiter.create(this.options.limits ?? {}, `sandbox-agent-tools-${randomUUID()}`)
      if (limiter.unenforced.length > 0) {
        console.warn(
          `[sandbox-agent-tools] limits not enforceable on this host: ${limiter.unenforced.join(' ')}`,
        )
      }
      const jailed = this.isolation === 'bwrap'
      const env: Record<string, string> = {
        PATH: jailed ? SYSTEM_PATH : (process.env.PATH ?? SYSTEM_PATH),
        HOME: jailed ? '/root' : join(state, 'home'),
        LANG: 'C.UTF-8',
        TERM: 'xterm',
        ...(!jailed && { TMPDIR: join(state, 'tmp'), [MARKER_VARIABLE]: this.marker }),
        ...this.options.env,
      }
      return { table, files: new SandboxFiles(table), limiter, state, env, ownsRoot }
    })()
    return this.setup
  }

  /** Setup plus, in bwrap mode, a live jail (started again if something inside killed it). */
  private async launch(): Promise<Launcher> {
    const setup = await this.prepare()
    let jail: Jail | undefined
    if (this.isolation === 'bwrap') {
      const starting = this.jailStarting
      jail = await starting?.catch(() => undefined)
      if (!jail?.alive) {
        if (this.jailStarting === starting) {
          this.jailStarting = Jail.start(setup.table, { allowNetwork: this.options.allowNetwork ?? false })
        }
        jail = await this.jailStarting
      }
    }
    if (this.destroyed) await jail?.stop()
    this.assertLive()
    this.launcher = { setup, jail }
    return this.launcher
  }

  private async spawnShell(command: string, options: ExecOptions | ProcessOptions): Promise<Spawned> {
    const launcher = await this.launch()
    const dir = await this.workingDirectory(launcher, options.cwd)
    const env = { ...launcher.setup.env }
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key]
      else env[key] = value
    }
    return this.spawnIn(launcher, ['bash', '-c', command], dir, env, 'ignore')
  }

  /**
   * The directory to start in: a sandbox path for the jail (resolved inside it), a host path in
   * none mode. Folders of the mount table must exist (the container fails such a call too).
   */
  private async workingDirectory({ setup, jail }: Launcher, cwd = WORKSPACE): Promise<string> {
    const path = MountTable.normalize(cwd)
    if (!setup.table.hostPath(path)) return path
    const { host } = await setup.table.resolve(path, { followLast: true })
    if (!(await stat(host).catch(() => undefined))?.isDirectory()) {
      throw new LocalSandboxError('COMMAND_EXECUTION_ERROR', `Working directory does not exist: ${cwd}`, {
        operation: 'command.execute',
        context: { cwd },
      })
    }
    return jail ? path : host
  }

  /** Each program runs in its own process group (stdin: /dev/null for commands). */
  private spawnIn(
    { setup, jail }: Launcher,
    argv: string[],
    dir: string,
    env: Record<string, string>,
    stdin: 'ignore' | 'pipe',
  ): Spawned {
    const [file, ...args] = [...setup.limiter.prefix, ...(jail ? jail.prefix(dir) : []), ...argv]
    const child = spawn(file!, args, {
      cwd: jail ? undefined : dir,
      env,
      detached: true,
      stdio: [stdin, 'pipe', 'pipe'],
    })
    const spawned = watch(child)
    this.running.add(spawned)
    void spawned.closed.then(() => this.running.delete(spawned))
    return spawned
  }
}

function resolveIsolation(requested: 'auto' | 'bwrap' | 'none'): IsolationMode {
  if (requested === 'none') return 'none'
  if (bwrapAvailable()) return 'bwrap'
  if (requested === 'bwrap') {
    throw new Error(
      'isolation: "bwrap" was requested but bubblewrap (with nsenter and setpriv) does not work here',
    )
  }
  if (!warnedNoIsolation) {
    warnedNoIsolation = true
    console.warn(
      '[sandbox-agent-tools] WARNING: bubblewrap is not usable on this machine; local sandboxes run commands as ' +
        'PLAIN HOST PROCESSES with no isolation (isolation: "none"). Install bubblewrap (Linux) to contain them.',
    )
  }
  return 'none'
}

function validatePort(port: number) {
  if (!Number.isInteger(port) || port < 1024 || port > 65535 || port === 3000) {
    throw new LocalSandboxError(
      'INVALID_PORT',
      `Invalid port number: ${port}. Must be 1024-65535, excluding 3000 (sandbox control plane).`,
      { operation: 'port.expose', context: { port } },
    )
  }
}

/** A folder name for an id: the id itself when it is a safe name, else a hash of it. */
function folderName(id: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(id)
    ? id
    : `id-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`
}
