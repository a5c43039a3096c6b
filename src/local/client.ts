/**
 * `remoteSandbox(url, token, id)`: a `SandboxBackend` that forwards every call to a loopback
 * sandbox server (`serveLocalSandbox`, `npx sandbox-agent-tools serve`). Used from Node and from
 * `LocalSandboxDO` inside workerd, so it needs nothing but `fetch`: no `node:` import here.
 *
 * The wire protocol (shared with src/local/server.ts, which imports it from here):
 *
 * - every request carries `Authorization: Bearer <token>`;
 * - `POST /sandbox/:id/call/:method` with `{ args, abortable? }` → `{ result }`, one route per
 *   SandboxBackend method; `undefined` arguments travel as `null` and are restored by the server;
 * - `execStream` (and `streamProcessLogs`) answer with the sandbox's own SSE bytes;
 * - `exec` with `stream: true` and an `onOutput` callback answers with SSE {@link ExecFrame}s;
 * - `PUT /sandbox/:id/file?path=…` streams a `ReadableStream` body to `writeFile` (no size
 *   limit; JSON bodies are capped, see `MAX_JSON_BODY_BYTES`);
 * - errors come back with the sandbox error's HTTP status and `{ error: WireError }`, and are
 *   thrown here as {@link RemoteSandboxError} with the same `code`, `message`, `httpStatus`,
 *   `operation` and `context`.
 */
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
  SandboxBackend,
  SandboxErrorCode,
  StreamOptions,
  WriteFileResult,
} from '../backend.js'
import { parseSSEStream } from '../sse.js'

/** Version of the wire protocol below; `GET /` on the server reports it. */
export const PROTOCOL_VERSION = 1

/** JSON request bodies above this size are refused (413): stream big files with a ReadableStream. */
export const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024

/** The SandboxBackend methods the server exposes, plus `streamProcessLogs` (SSE of log events). */
export const REMOTE_METHODS = [
  'exec',
  'execStream',
  'writeFile',
  'readFile',
  'mkdir',
  'deleteFile',
  'renameFile',
  'moveFile',
  'listFiles',
  'exists',
  'startProcess',
  'listProcesses',
  'getProcess',
  'getProcessLogs',
  'killProcess',
  'killAllProcesses',
  'streamProcessLogs',
  'createCodeContext',
  'runCode',
  'deleteCodeContext',
  'exposePort',
  'unexposePort',
  'getExposedPorts',
  'destroy',
] as const

export type RemoteMethod = (typeof REMOTE_METHODS)[number]

/** An error as it crosses the wire: the fields of the SDK's `SandboxError`. */
export interface WireError {
  name: string
  code: SandboxErrorCode
  message: string
  httpStatus: number
  context: Record<string, unknown>
  operation?: string
  timestamp?: string
  suggestion?: string
}

/** One frame of `exec` with `stream: true` + `onOutput` (SSE `data:` JSON). */
export type ExecFrame =
  | { type: 'output'; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'result'; result: ExecResult }
  | { type: 'error'; error: WireError }

/** One event of `streamProcessLogs`, like the container's `LogEvent`. */
export interface LogEvent {
  type: 'stdout' | 'stderr' | 'exit' | 'error'
  data: string
  processId: string
  exitCode?: number
  timestamp: string
}

export const callPath = (id: string, method: string) =>
  `/sandbox/${encodeURIComponent(id)}/call/${encodeURIComponent(method)}`
export const filePath = (id: string) => `/sandbox/${encodeURIComponent(id)}/file`

/**
 * An error of the remote sandbox, shaped like the SDK's `SandboxError`: check `code` (and
 * `httpStatus`), never the message. `kind` is set on transport errors (`RPC_TRANSPORT_ERROR`):
 * `connection_failed` means the request provably never reached the server.
 */
export class RemoteSandboxError extends Error {
  override name = 'SandboxError'
  readonly code: SandboxErrorCode
  readonly httpStatus: number
  readonly context: Record<string, unknown>
  readonly operation: string | undefined
  readonly timestamp: string
  readonly suggestion: string | undefined
  readonly kind: string | undefined

  constructor(wire: Partial<WireError> & { code: SandboxErrorCode; message: string }, cause?: unknown) {
    super(wire.message, cause === undefined ? undefined : { cause })
    this.code = wire.code
    this.httpStatus = wire.httpStatus ?? 500
    this.context = wire.context ?? {}
    this.operation = wire.operation
    this.timestamp = wire.timestamp ?? new Date().toISOString()
    this.suggestion = wire.suggestion
    const kind = this.context.kind
    this.kind = typeof kind === 'string' ? kind : undefined
  }

  toJSON(): WireError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      httpStatus: this.httpStatus,
      context: this.context,
      ...(this.operation !== undefined && { operation: this.operation }),
      timestamp: this.timestamp,
      ...(this.suggestion !== undefined && { suggestion: this.suggestion }),
    }
  }
}

/** Any thrown value as a {@link WireError} (errors without a `code` become `INTERNAL_ERROR`). */
export function toWireError(error: unknown): WireError {
  const e = (error && typeof error === 'object' ? error : {}) as Partial<Record<keyof WireError, unknown>>
  const message = error instanceof Error ? error.message : String(error)
  const code = typeof e.code === 'string' ? e.code : 'INTERNAL_ERROR'
  const httpStatus =
    typeof e.httpStatus === 'number' && e.httpStatus >= 400 && e.httpStatus <= 599 ? e.httpStatus : 500
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    code,
    message,
    httpStatus,
    context: e.context && typeof e.context === 'object' ? (e.context as Record<string, unknown>) : {},
    ...(typeof e.operation === 'string' && { operation: e.operation }),
    timestamp: typeof e.timestamp === 'string' ? e.timestamp : new Date().toISOString(),
    ...(typeof e.suggestion === 'string' && { suggestion: e.suggestion }),
  }
}

export function fromWireError(wire: WireError): RemoteSandboxError {
  const error = new RemoteSandboxError(wire)
  // keep the sandbox's error name (SandboxError, or e.g. TypeError for an unexpected failure)
  if (typeof wire.name === 'string' && wire.name) error.name = wire.name
  return error
}

export interface RemoteSandboxOptions {
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch
  /**
   * What the handle does after `destroy()`. `'fail'` (default, like `localSandbox`): later calls
   * throw `SANDBOX_DESTROYED`; a new `remoteSandbox(url, token, id)` gets a fresh sandbox.
   * `'fresh'` (like Cloudflare's `Sandbox`, what `LocalSandboxDO` uses): the next call on the
   * same handle starts a fresh, empty sandbox with the same id.
   */
  afterDestroy?: 'fail' | 'fresh'
}

/** A SandboxBackend served by `serveLocalSandbox` at `url`, authenticated with `token`. */
export function remoteSandbox(
  url: string,
  token: string,
  id: string,
  options: RemoteSandboxOptions = {},
): RemoteSandbox {
  return new RemoteSandbox(url, token, id, options)
}

const ABORTED = 'Operation was aborted'

export class RemoteSandbox implements SandboxBackend {
  readonly url: string
  private readonly fetcher: typeof fetch
  private readonly afterDestroy: 'fail' | 'fresh'
  private destroying?: Promise<void>

  constructor(
    url: string,
    private readonly token: string,
    readonly id: string,
    options: RemoteSandboxOptions = {},
  ) {
    if (!id) throw new TypeError('remoteSandbox: the sandbox id must not be empty')
    this.url = url.replace(/\/+$/, '')
    // an unbound `fetch` throws "Illegal invocation" in workerd
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init))
    this.afterDestroy = options.afterDestroy ?? 'fail'
  }

  // ── commands ────────────────────────────────────────────────────────────────────────────────

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { signal, onOutput, onComplete, onError, ...rest } = options
    try {
      if (signal?.aborted) throw new Error(ABORTED)
      const result =
        rest.stream && onOutput
          ? await this.execWithOutput(command, rest, onOutput, signal)
          : await this.call<ExecResult>('exec', [command, rest], signal)
      // awaited: over Durable Object RPC a callback is a stub whose calls return promises
      await onComplete?.(result)
      return result
    } catch (error) {
      if (error instanceof Error) await Promise.resolve(onError?.(error)).catch(() => {})
      throw error
    }
  }

  private async execWithOutput(
    command: string,
    options: Omit<ExecOptions, 'signal' | 'onOutput' | 'onComplete' | 'onError'>,
    onOutput: NonNullable<ExecOptions['onOutput']>,
    signal: AbortSignal | undefined,
  ): Promise<ExecResult> {
    const response = await this.post('exec', [command, { ...options, stream: true, onOutput: true }], signal)
    try {
      for await (const frame of parseSSEStream<ExecFrame>(response.body!, signal)) {
        if (frame.type === 'output') await onOutput(frame.stream, frame.data)
        else if (frame.type === 'result') return frame.result
        else if (frame.type === 'error') throw fromWireError(frame.error)
      }
    } catch (error) {
      throw signal?.aborted ? new Error(ABORTED, { cause: error }) : streamError(error, 'exec')
    }
    throw transportError('exec', 'peer_closed', 'the exec stream ended without a result')
  }

  /** SSE of `ExecEvent`s, straight from the sandbox (decode with `parseSSEStream`). */
  async execStream(command: string, options: StreamOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const { signal, ...rest } = options
    if (signal?.aborted) throw new Error(ABORTED)
    return (await this.post('execStream', [command, rest], signal)).body!
  }

  // ── files ───────────────────────────────────────────────────────────────────────────────────

  /**
   * A string travels as JSON (the server caps JSON bodies at 64 MiB); a `ReadableStream` is
   * streamed as the raw request body, of any size.
   */
  async writeFile(
    path: string,
    content: string | ReadableStream<Uint8Array>,
    options: { encoding?: string } = {},
  ): Promise<WriteFileResult> {
    if (typeof content === 'string') return this.call('writeFile', [path, content, options])
    this.assertLive()
    const query = new URLSearchParams({ path })
    if (options.encoding) query.set('encoding', options.encoding)
    const response = await this.send(`${filePath(this.id)}?${query}`, 'writeFile', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
      // Node's fetch needs it for a stream body; workerd ignores it
      duplex: 'half',
    } as RequestInit)
    return ((await response.json()) as { result: WriteFileResult }).result
  }

  readFile(path: string, options?: { encoding?: 'utf-8' | 'utf8' | 'base64' }): Promise<ReadFileResult> {
    return this.call('readFile', [path, options])
  }

  mkdir(path: string, options?: { recursive?: boolean }): Promise<MkdirResult> {
    return this.call('mkdir', [path, options])
  }

  deleteFile(path: string): Promise<DeleteFileResult> {
    return this.call('deleteFile', [path])
  }

  renameFile(oldPath: string, newPath: string): Promise<RenameFileResult> {
    return this.call('renameFile', [oldPath, newPath])
  }

  moveFile(sourcePath: string, destinationPath: string): Promise<MoveFileResult> {
    return this.call('moveFile', [sourcePath, destinationPath])
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<ListFilesResult> {
    return this.call('listFiles', [path, options])
  }

  exists(path: string, sessionId?: string): Promise<FileExistsResult> {
    return this.call('exists', [path, sessionId])
  }

  // ── processes ───────────────────────────────────────────────────────────────────────────────

  async startProcess(command: string, options?: ProcessOptions): Promise<ProcessInfo> {
    return reviveProcess(await this.call<ProcessInfo>('startProcess', [command, options]))
  }

  async listProcesses(sessionId?: string): Promise<ProcessInfo[]> {
    return (await this.call<ProcessInfo[]>('listProcesses', [sessionId])).map(reviveProcess)
  }

  async getProcess(id: string, sessionId?: string): Promise<ProcessInfo | null> {
    const found = await this.call<ProcessInfo | null>('getProcess', [id, sessionId])
    return found && reviveProcess(found)
  }

  getProcessLogs(id: string): Promise<{ stdout: string; stderr: string; processId: string }> {
    return this.call('getProcessLogs', [id])
  }

  killProcess(id: string, signal?: string): Promise<void> {
    return this.call('killProcess', [id, signal])
  }

  killAllProcesses(): Promise<number> {
    return this.call('killAllProcesses', [])
  }

  /** SSE of {@link LogEvent}s: the output so far, what follows, then `exit` with the exit code. */
  async streamProcessLogs(
    processId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    if (options.signal?.aborted) throw new Error(ABORTED)
    return (await this.post('streamProcessLogs', [processId], options.signal)).body!
  }

  // ── code interpreter ────────────────────────────────────────────────────────────────────────

  async createCodeContext(options?: CreateContextOptions): Promise<CodeContext> {
    const context = await this.call<CodeContext>('createCodeContext', [options])
    return { ...context, createdAt: new Date(context.createdAt), lastUsed: new Date(context.lastUsed) }
  }

  async runCode(code: string, options: RunCodeOptions = {}): Promise<ExecutionResult> {
    const { signal, ...rest } = options
    if (signal?.aborted) throw new Error(ABORTED)
    return this.call('runCode', [code, rest], signal)
  }

  deleteCodeContext(contextId: string): Promise<void> {
    return this.call('deleteCodeContext', [contextId])
  }

  // ── ports ───────────────────────────────────────────────────────────────────────────────────

  exposePort(port: number, options: ExposePortOptions): Promise<ExposedPort> {
    return this.call('exposePort', [port, options])
  }

  unexposePort(port: number): Promise<void> {
    return this.call('unexposePort', [port])
  }

  getExposedPorts(hostname: string): Promise<{ url: string; port: number; status: 'active' }[]> {
    return this.call('getExposedPorts', [hostname])
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /** Destroys the sandbox on the server (processes killed, workspace removed). Idempotent. */
  destroy(): Promise<void> {
    if (this.afterDestroy === 'fresh') return this.request<void>('destroy', [])
    this.destroying ??= this.request<void>('destroy', []).catch((error: unknown) => {
      // the server never got it: let a retry send it again
      this.destroying = undefined
      throw error
    })
    return this.destroying
  }

  // ── transport ───────────────────────────────────────────────────────────────────────────────

  private assertLive() {
    if (this.destroying) {
      throw new RemoteSandboxError({
        code: 'SANDBOX_DESTROYED',
        message: `Sandbox ${this.id} has been destroyed; remoteSandbox(url, token, ${JSON.stringify(this.id)}) gives a fresh one`,
        httpStatus: 410,
        context: { sandboxId: this.id },
      })
    }
  }

  private call<T>(method: RemoteMethod, args: unknown[], signal?: AbortSignal): Promise<T> {
    try {
      this.assertLive()
    } catch (error) {
      return Promise.reject(error)
    }
    return this.request<T>(method, args, signal)
  }

  private async request<T>(method: RemoteMethod, args: unknown[], signal?: AbortSignal): Promise<T> {
    const response = await this.post(method, args, signal)
    try {
      const body = (await response.json()) as { result?: T }
      return body.result as T
    } catch (error) {
      throw signal?.aborted ? new Error(ABORTED, { cause: error }) : streamError(error, method)
    }
  }

  /** POSTs a call; resolves with the (ok) response, whose body the caller reads. */
  private post(method: RemoteMethod, args: unknown[], signal?: AbortSignal): Promise<Response> {
    this.assertLive()
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop()
    const body = JSON.stringify({ args, ...(signal && { abortable: true }) })
    return this.send(
      callPath(this.id, method),
      method,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body },
      signal,
    )
  }

  private async send(
    path: string,
    method: string,
    init: RequestInit,
    signal?: AbortSignal,
  ): Promise<Response> {
    let response: Response
    try {
      response = await this.fetcher(`${this.url}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.token}` },
        ...(signal && { signal }),
      })
    } catch (error) {
      if (signal?.aborted) throw new Error(ABORTED, { cause: error })
      throw transportError(method, connectionFailed(error) ? 'connection_failed' : 'unknown', error)
    }
    if (response.ok) return response
    const text = await response.text().catch(() => '')
    let wire: WireError | undefined
    try {
      wire = (JSON.parse(text) as { error?: WireError }).error
    } catch {}
    if (wire?.code) throw fromWireError(wire)
    throw new RemoteSandboxError({
      code: 'RPC_TRANSPORT_ERROR',
      message: `The local sandbox server answered ${method} with HTTP ${response.status}: ${text.slice(0, 200)}`,
      httpStatus: 502,
      context: { kind: 'protocol_error', status: response.status, operation: method },
    })
  }
}

function reviveProcess(info: ProcessInfo): ProcessInfo {
  return {
    ...info,
    startTime: new Date(info.startTime),
    ...(info.endTime !== undefined && info.endTime !== null && { endTime: new Date(info.endTime) }),
  }
}

function transportError(method: string, kind: string, cause: unknown): RemoteSandboxError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new RemoteSandboxError(
    {
      code: 'RPC_TRANSPORT_ERROR',
      message: `Could not reach the local sandbox server (${method}): ${reason}`,
      httpStatus: 503,
      context: { kind, operation: method },
      suggestion:
        kind === 'connection_failed'
          ? 'Start it with `npx sandbox-agent-tools serve` and check LOCAL_SANDBOX_URL.'
          : undefined,
    },
    cause,
  )
}

/** A response body that broke off: the server went away mid-answer. */
function streamError(error: unknown, method: string): unknown {
  if (error instanceof RemoteSandboxError) return error
  return transportError(method, 'peer_closed', error)
}

/** True when the request provably never reached the server (nothing listening, bad address). */
function connectionFailed(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EADDRNOTAVAIL)$/.test(code))
      return true
    const message = e instanceof Error ? e.message : ''
    // workerd reports a refused connection without an errno
    if (/connection refused|ECONNREFUSED/i.test(message)) return true
  }
  return false
}
