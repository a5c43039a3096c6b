/**
 * `sandbox-agent-tools/local/worker`: `LocalSandboxDO`, a Durable Object that stands in for
 * `@cloudflare/sandbox`'s `Sandbox` where containers cannot run (`wrangler dev` without Docker,
 * the workerd test pool). Bind `Sandbox` to it and the same Worker code —
 * `getSandbox(env.Sandbox, id).exec(…)` — runs against a local sandbox: every method forwards to
 * the loopback sandbox server (`npx sandbox-agent-tools serve`) with the object's name as the
 * sandbox id. Safe to import in workerd: no `node:` imports.
 *
 * 1. Start the server; it prints its URL and token:
 *
 *      npx sandbox-agent-tools serve --port 8790
 *
 * 2. Put them in `.dev.vars` (or `.dev.vars.local`) next to wrangler.jsonc:
 *
 *      LOCAL_SANDBOX_URL=http://127.0.0.1:8790
 *      LOCAL_SANDBOX_TOKEN=<the printed token>
 *
 * 3. Export the class from your Worker entry, next to the real one:
 *
 *      export { Sandbox } from '@cloudflare/sandbox'
 *      export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'
 *
 * 4. Add a `local` environment to wrangler.jsonc that binds `Sandbox` to the stand-in and
 *    declares no containers (durable_objects, containers and migrations are per environment):
 *
 *      {
 *        "name": "my-agent",
 *        "main": "src/index.ts",
 *        "compatibility_date": "2026-11-01",
 *        "compatibility_flags": ["nodejs_compat"],
 *        "containers": [{ "class_name": "Sandbox", "image": "./Dockerfile", "max_instances": 1 }],
 *        "durable_objects": { "bindings": [{ "name": "Sandbox", "class_name": "Sandbox" }] },
 *        "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Sandbox"] }],
 *        "env": {
 *          "local": {
 *            "containers": [],
 *            "durable_objects": { "bindings": [{ "name": "Sandbox", "class_name": "LocalSandboxDO" }] },
 *            "migrations": [{ "tag": "v1", "new_sqlite_classes": ["LocalSandboxDO"] }]
 *          }
 *        }
 *      }
 *
 * 5. `npx wrangler dev --env local` — no Docker needed.
 *
 * What it does and does not do:
 * - Local sandboxes are sessionless: `exec` and `execWithSessionToken` (what `getSandbox` calls
 *   with `enableDefaultSession: false`) both run a fresh `bash -c` with the given cwd/env, as the
 *   container's sessionless mode does; `createSession`/`getSession` are not supported.
 * - Results are plain objects (Dates for process and context times); `execStream` and
 *   `streamProcessLogs` return SSE `ReadableStream`s; `writeFile` takes a `ReadableStream` body
 *   and streams it to the server. Errors keep `code`, `httpStatus`, `operation` and `context`.
 * - After `destroy()` the next call starts a fresh, empty sandbox with the same id, as on Cloudflare.
 * - Preview URLs: `exposePort` returns a URL on 127.0.0.1 (the local port), not
 *   `https://{port}-{id}-{token}.{hostname}`; `proxyToSandbox` does not apply.
 * - An `AbortSignal` in the options reaches the server only when the Worker enables
 *   `enable_abortsignal_rpc`; otherwise workerd refuses to send it over RPC (DataCloneError).
 */
// biome-ignore lint/suspicious/noTsIgnore: resolved by @cloudflare/workers-types in Worker builds and in test/workerd; the Node typecheck of src/ has no workerd types (and @ts-expect-error would be unused there)
// @ts-ignore
import { DurableObject } from 'cloudflare:workers'
import type {
  CodeContext,
  CreateContextOptions,
  DeleteFileResult,
  ExecOptions,
  ExecResult,
  ExecutionResult,
  ExposedPort,
  ExposePortOptions,
  FileExistsResult,
  ListFilesOptions,
  ListFilesResult,
  MkdirResult,
  MoveFileResult,
  ProcessInfo,
  ProcessOptions,
  ReadFileResult,
  RenameFileResult,
  RunCodeOptions,
  StreamOptions,
  WriteFileResult,
} from '../backend.js'
import { type RemoteSandbox, RemoteSandboxError, remoteSandbox } from './client.js'

/** The variables `LocalSandboxDO` reads from the Worker's env. */
export interface LocalSandboxEnv {
  /** The loopback server, e.g. `http://127.0.0.1:8790` (printed by `npx sandbox-agent-tools serve`). */
  LOCAL_SANDBOX_URL?: string
  /** Its token (printed too). */
  LOCAL_SANDBOX_TOKEN?: string
}

/** What `getSandbox()` pushes through `configure()` (fire-and-forget, once per isolate). */
export interface SandboxConfiguration {
  sandboxName?: { name: string; normalizeId?: boolean }
  sleepAfter?: string | number
  keepAlive?: boolean
  containerTimeouts?: Record<string, number>
  transport?: string
  labels?: Record<string, string>
}

/** The part of the Durable Object state used here (typed structurally: see the import above). */
interface State {
  id: { name?: string; toString(): string }
  storage: {
    get<T>(key: string): Promise<T | undefined>
    put(key: string, value: unknown): Promise<void>
  }
}

const NAME_KEY = 'sandboxName'

type SessionOptions = { sessionId?: string }

/**
 * The `Sandbox` stand-in. It has the RPC methods `getSandbox()`'s proxy calls on its stub (with
 * and without `enableDefaultSession: false`), each forwarded to the loopback sandbox server.
 */
export class LocalSandboxDO extends DurableObject<LocalSandboxEnv> {
  #name: string | undefined
  #client: RemoteSandbox | undefined
  #envVars: Record<string, string> = {}

  // ── configuration (getSandbox() calls configure() before the first operation) ───────────────

  async configure(configuration: SandboxConfiguration = {}): Promise<void> {
    if (configuration.sandboxName) await this.setSandboxName(configuration.sandboxName.name)
  }

  async setSandboxName(name: string, _normalizeId?: boolean): Promise<void> {
    if (name === this.#name) return
    this.#name = name
    this.#client = undefined
    await this.state().storage.put(NAME_KEY, name)
  }

  /** Container lifetime settings: nothing to do for a local sandbox. */
  async setSleepAfter(_sleepAfter: string | number): Promise<void> {}
  async setKeepAlive(_keepAlive: boolean): Promise<void> {}
  async setContainerTimeouts(_timeouts: Record<string, number>): Promise<void> {}
  async setTransport(_transport: string): Promise<void> {}
  async setLabels(_labels: Record<string, string>): Promise<void> {}

  /** Variables for every later command and process (a variable set to undefined is removed). */
  async setEnvVars(envVars: Record<string, string | undefined>): Promise<void> {
    for (const [key, value] of Object.entries(envVars)) {
      if (value === undefined) delete this.#envVars[key]
      else this.#envVars[key] = value
    }
  }

  // ── commands ────────────────────────────────────────────────────────────────────────────────

  async exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    return (await this.sandbox()).exec(command, this.withEnv(options))
  }

  async execWithSessionToken(
    command: string,
    _sessionId: string,
    options?: ExecOptions,
  ): Promise<ExecResult> {
    return this.exec(command, options)
  }

  async execStream(command: string, options?: StreamOptions): Promise<ReadableStream<Uint8Array>> {
    return (await this.sandbox()).execStream(command, this.withEnv(withoutSession(options)))
  }

  async execStreamWithSessionToken(
    command: string,
    _sessionId: string,
    options?: StreamOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.execStream(command, options)
  }

  // ── processes ───────────────────────────────────────────────────────────────────────────────

  async startProcess(command: string, options?: ProcessOptions, _sessionId?: string): Promise<ProcessInfo> {
    // callbacks (onExit, onOutput…) are not supported: poll getProcess/getProcessLogs or streamProcessLogs
    return (await this.sandbox()).startProcess(command, this.withEnv(withoutSession(options)))
  }

  async listProcesses(_sessionId?: string): Promise<ProcessInfo[]> {
    return (await this.sandbox()).listProcesses()
  }

  async getProcess(id: string, _sessionId?: string): Promise<ProcessInfo | null> {
    return (await this.sandbox()).getProcess(id)
  }

  async getProcessLogs(
    id: string,
    _sessionId?: string,
  ): Promise<{ stdout: string; stderr: string; processId: string }> {
    return (await this.sandbox()).getProcessLogs(id)
  }

  async killProcess(id: string, signal?: string, _sessionId?: string): Promise<void> {
    return (await this.sandbox()).killProcess(id, signal)
  }

  async killAllProcesses(_sessionId?: string): Promise<number> {
    return (await this.sandbox()).killAllProcesses()
  }

  /** Like the container: completed processes are not kept apart, so there is nothing to clean. */
  async cleanupCompletedProcesses(_sessionId?: string): Promise<number> {
    return 0
  }

  async streamProcessLogs(
    processId: string,
    options?: { signal?: AbortSignal },
  ): Promise<ReadableStream<Uint8Array>> {
    return (await this.sandbox()).streamProcessLogs(processId, options)
  }

  // ── files ───────────────────────────────────────────────────────────────────────────────────

  async writeFile(
    path: string,
    content: string | ReadableStream<Uint8Array>,
    options?: { encoding?: string } & SessionOptions,
  ): Promise<WriteFileResult> {
    return (await this.sandbox()).writeFile(path, content, withoutSession(options))
  }

  async readFile(
    path: string,
    options?: { encoding?: 'utf-8' | 'utf8' | 'base64' } & SessionOptions,
  ): Promise<ReadFileResult> {
    return (await this.sandbox()).readFile(path, withoutSession(options))
  }

  async mkdir(path: string, options?: { recursive?: boolean } & SessionOptions): Promise<MkdirResult> {
    return (await this.sandbox()).mkdir(path, withoutSession(options))
  }

  async deleteFile(path: string, _sessionId?: string): Promise<DeleteFileResult> {
    return (await this.sandbox()).deleteFile(path)
  }

  async renameFile(oldPath: string, newPath: string, _sessionId?: string): Promise<RenameFileResult> {
    return (await this.sandbox()).renameFile(oldPath, newPath)
  }

  async moveFile(sourcePath: string, destinationPath: string, _sessionId?: string): Promise<MoveFileResult> {
    return (await this.sandbox()).moveFile(sourcePath, destinationPath)
  }

  async listFiles(path: string, options?: ListFilesOptions): Promise<ListFilesResult> {
    return (await this.sandbox()).listFiles(path, withoutSession(options))
  }

  async exists(path: string, _sessionId?: string): Promise<FileExistsResult> {
    return (await this.sandbox()).exists(path)
  }

  // ── code interpreter ────────────────────────────────────────────────────────────────────────

  async createCodeContext(options?: CreateContextOptions): Promise<CodeContext> {
    return (await this.sandbox()).createCodeContext(options)
  }

  async runCode(code: string, options?: RunCodeOptions): Promise<ExecutionResult> {
    // streaming callbacks (onStdout, onResult…) are not supported: the result carries all output
    return (await this.sandbox()).runCode(code, options)
  }

  async deleteCodeContext(contextId: string): Promise<void> {
    return (await this.sandbox()).deleteCodeContext(contextId)
  }

  // ── ports ───────────────────────────────────────────────────────────────────────────────────

  /** A URL on 127.0.0.1 that reaches `port` in the sandbox (`hostname` is not used locally). */
  async exposePort(port: number, options: ExposePortOptions): Promise<ExposedPort> {
    return (await this.sandbox()).exposePort(port, options)
  }

  async unexposePort(port: number): Promise<void> {
    return (await this.sandbox()).unexposePort(port)
  }

  async getExposedPorts(hostname: string): Promise<{ url: string; port: number; status: 'active' }[]> {
    return (await this.sandbox()).getExposedPorts(hostname)
  }

  async isPortExposed(port: number): Promise<boolean> {
    return (await this.getExposedPorts('')).some((exposed) => exposed.port === port)
  }

  // ── sessions: not supported (local sandboxes are sessionless) ───────────────────────────────

  async createSession(_options?: unknown): Promise<never> {
    throw unsupported('createSession')
  }

  async getSession(_sessionId: string): Promise<never> {
    throw unsupported('getSession')
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /** Kills the sandbox's processes and removes its workspace; the next call starts a fresh one. */
  async destroy(): Promise<void> {
    await (await this.sandbox()).destroy()
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  private state(): State {
    return (this as unknown as { ctx: State }).ctx
  }

  private async sandbox(): Promise<RemoteSandbox> {
    if (this.#client) return this.#client
    const { LOCAL_SANDBOX_URL: url, LOCAL_SANDBOX_TOKEN: token } = (
      this as unknown as { env: LocalSandboxEnv }
    ).env
    if (!url || !token) {
      throw new RemoteSandboxError({
        code: 'LOCAL_SANDBOX_NOT_CONFIGURED',
        message:
          'LocalSandboxDO needs LOCAL_SANDBOX_URL and LOCAL_SANDBOX_TOKEN in the Worker env: start `npx sandbox-agent-tools serve` and put the URL and token it prints in .dev.vars',
        httpStatus: 500,
      })
    }
    const state = this.state()
    this.#name ??= (await state.storage.get<string>(NAME_KEY)) ?? state.id.name
    if (!this.#name) {
      throw new RemoteSandboxError({
        code: 'INVALID_SANDBOX_ID',
        message:
          'LocalSandboxDO does not know its sandbox id: address it with getSandbox(ns, id) or idFromName(id)',
        httpStatus: 400,
      })
    }
    this.#client ??= remoteSandbox(url, token, this.#name, { afterDestroy: 'fresh' })
    return this.#client
  }

  private withEnv<T extends { env?: Record<string, string | undefined> }>(
    options: T | undefined,
  ): T | undefined {
    if (Object.keys(this.#envVars).length === 0) return options
    return { ...(options as T), env: { ...this.#envVars, ...options?.env } }
  }
}

function withoutSession<T extends object>(options: (T & SessionOptions) | undefined): T | undefined {
  if (!options || !('sessionId' in options)) return options
  const { sessionId: _, ...rest } = options
  return rest as T
}

function unsupported(method: string): RemoteSandboxError {
  return new RemoteSandboxError({
    code: 'NOT_SUPPORTED',
    message: `${method}: LocalSandboxDO runs every command sessionless; pass cwd and env per call instead`,
    httpStatus: 501,
    context: { method },
  })
}
