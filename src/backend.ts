/**
 * SandboxBackend — the slice of `@cloudflare/sandbox`'s `Sandbox` that the session calls.
 *
 * The shapes below mirror the SDK's own (0.12.x) so that whatever `getSandbox()` returns is
 * assignable to `SandboxBackend` with no cast (test/types/backend.test-d.ts proves it and fails to
 * compile if a signature drifts). They are declared here, not imported, because
 * `@cloudflare/sandbox` is an optional peer that only loads inside workerd.
 */

export interface BaseExecOptions {
  /** Milliseconds before the command is killed (sessionless mode reports exit code 124). */
  timeout?: number
  env?: Record<string, string | undefined>
  cwd?: string
  encoding?: string
}

export interface ExecOptions extends BaseExecOptions {
  stream?: boolean
  onOutput?: (stream: 'stdout' | 'stderr', data: string) => void
  onComplete?: (result: ExecResult) => void
  onError?: (error: Error) => void
  signal?: AbortSignal
  origin?: 'user' | 'internal'
}

export interface StreamOptions extends BaseExecOptions {
  sessionId?: string
  bufferSize?: number
  signal?: AbortSignal
}

export interface ExecResult {
  success: boolean
  exitCode: number
  stdout: string
  stderr: string
  command: string
  duration: number
  timestamp: string
  sessionId?: string
}

/** One server-sent event of `execStream` (decode the stream with `parseSSEStream`). */
export interface ExecEvent {
  type: 'start' | 'stdout' | 'stderr' | 'complete' | 'error'
  timestamp: string
  data?: string
  command?: string
  exitCode?: number
  result?: ExecResult
  error?: string
  sessionId?: string
  pid?: number
}

export type ProcessStatus = 'starting' | 'running' | 'completed' | 'failed' | 'killed' | 'error'

export interface ProcessOptions extends BaseExecOptions {
  sessionId?: string
  processId?: string
  autoCleanup?: boolean
}

/** The data part of the SDK's `Process` (its methods are not needed: we address processes by id). */
export interface ProcessInfo {
  readonly id: string
  readonly pid?: number
  readonly command: string
  readonly status: ProcessStatus
  readonly startTime: Date
  readonly endTime?: Date
  readonly exitCode?: number
  readonly sessionId?: string
}

export interface WriteFileResult {
  success: boolean
  path: string
  timestamp: string
  exitCode?: number
}

export interface ReadFileResult {
  success: boolean
  path: string
  content: string
  timestamp: string
  exitCode?: number
  encoding?: 'utf-8' | 'base64'
  isBinary?: boolean
  mimeType?: string
  size?: number
}

export interface MkdirResult {
  success: boolean
  path: string
  recursive: boolean
  timestamp: string
  exitCode?: number
}

export interface DeleteFileResult {
  success: boolean
  path: string
  timestamp: string
  exitCode?: number
}

export interface RenameFileResult {
  success: boolean
  path: string
  newPath: string
  timestamp: string
  exitCode?: number
}

export type MoveFileResult = RenameFileResult

export interface FileExistsResult {
  success: boolean
  path: string
  exists: boolean
  timestamp: string
}

export interface FileInfo {
  name: string
  absolutePath: string
  relativePath: string
  type: 'file' | 'directory' | 'symlink' | 'other'
  size: number
  modifiedAt: string
  mode: string
  permissions: { readable: boolean; writable: boolean; executable: boolean }
}

export interface ListFilesOptions {
  recursive?: boolean
  includeHidden?: boolean
  sessionId?: string
}

export interface ListFilesResult {
  success: boolean
  path: string
  files: FileInfo[]
  count: number
  timestamp: string
  exitCode?: number
}

export type CodeLanguage = 'python' | 'javascript' | 'typescript'

export interface CreateContextOptions {
  language?: CodeLanguage
  cwd?: string
  envVars?: Record<string, string | undefined>
  timeout?: number
}

export interface CodeContext {
  readonly id: string
  readonly language: string
  readonly cwd: string
  readonly createdAt: Date
  readonly lastUsed: Date
}

export interface OutputMessage {
  text: string
  timestamp: number
}

export interface ChartData {
  type: 'line' | 'bar' | 'scatter' | 'pie' | 'histogram' | 'heatmap' | 'unknown'
  title?: string
  data: any
  layout?: any
  config?: any
  library?: 'matplotlib' | 'plotly' | 'altair' | 'seaborn' | 'unknown'
  image?: string
}

/** A rich result (one MIME bundle of the kernel's display_data / execute_result). */
export interface RichResult {
  text?: string
  html?: string
  /** base64 */
  png?: string
  /** base64 */
  jpeg?: string
  svg?: string
  latex?: string
  markdown?: string
  javascript?: string
  json?: any
  chart?: ChartData
  data?: any
}

export interface ExecutionError {
  name: string
  message: string
  traceback: string[]
  lineNumber?: number
}

export interface RunCodeOptions {
  context?: CodeContext
  language?: CodeLanguage
  envVars?: Record<string, string | undefined>
  timeout?: number
  signal?: AbortSignal
}

export interface ExecutionResult {
  code: string
  logs: { stdout: string[]; stderr: string[] }
  error?: ExecutionError
  executionCount?: number
  results: RichResult[]
}

export interface ExposePortOptions {
  name?: string
  /** Required by Cloudflare (a custom domain with wildcard DNS); the local backend ignores it. */
  hostname: string
  token?: string
}

export interface ExposedPort {
  url: string
  port: number
  name: string | undefined
}

/**
 * What the session needs from a sandbox. `getSandbox(env.Sandbox, id)` satisfies it, and so does
 * `localSandbox(id)` from `sandbox-agent-tools/local`.
 */
export interface SandboxBackend {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>
  /** Server-sent events of {@link ExecEvent}. */
  execStream(command: string, options?: StreamOptions): Promise<ReadableStream<Uint8Array>>

  writeFile(
    path: string,
    content: string | ReadableStream<Uint8Array>,
    options?: { encoding?: string },
  ): Promise<WriteFileResult>
  readFile(path: string, options?: { encoding?: 'utf-8' | 'utf8' | 'base64' }): Promise<ReadFileResult>
  mkdir(path: string, options?: { recursive?: boolean }): Promise<MkdirResult>
  deleteFile(path: string): Promise<DeleteFileResult>
  renameFile(oldPath: string, newPath: string): Promise<RenameFileResult>
  moveFile(sourcePath: string, destinationPath: string): Promise<MoveFileResult>
  listFiles(path: string, options?: ListFilesOptions): Promise<ListFilesResult>
  exists(path: string, sessionId?: string): Promise<FileExistsResult>

  startProcess(command: string, options?: ProcessOptions): Promise<ProcessInfo>
  listProcesses(sessionId?: string): Promise<ProcessInfo[]>
  getProcess(id: string, sessionId?: string): Promise<ProcessInfo | null>
  getProcessLogs(id: string): Promise<{ stdout: string; stderr: string; processId: string }>
  killProcess(id: string, signal?: string): Promise<void>
  killAllProcesses(): Promise<number>

  createCodeContext(options?: CreateContextOptions): Promise<CodeContext>
  runCode(code: string, options?: RunCodeOptions): Promise<ExecutionResult>
  deleteCodeContext(contextId: string): Promise<void>

  exposePort(port: number, options: ExposePortOptions): Promise<ExposedPort>
  unexposePort(port: number): Promise<void>
  getExposedPorts(hostname: string): Promise<{ url: string; port: number; status: 'active' }[]>

  destroy(): Promise<void>
}

/** Error codes the SDK uses (a subset we act on). Errors carry them as `code`. */
export type SandboxErrorCode =
  | 'FILE_NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'FILE_EXISTS'
  | 'IS_DIRECTORY'
  | 'NOT_DIRECTORY'
  | 'FILE_TOO_LARGE'
  | 'NO_SPACE'
  | 'READ_ONLY'
  | 'COMMAND_EXECUTION_ERROR'
  | 'PROCESS_NOT_FOUND'
  | 'CONTEXT_NOT_FOUND'
  | 'CODE_EXECUTION_ERROR'
  | 'INTERPRETER_NOT_READY'
  | 'PYTHON_NOT_AVAILABLE'
  | 'CONTAINER_UNAVAILABLE'
  | 'RPC_TRANSPORT_ERROR'
  | 'OPERATION_INTERRUPTED'
  | 'SESSION_TERMINATED'
  | 'INVALID_PORT'
  | 'PORT_ALREADY_EXPOSED'
  | 'SANDBOX_DESTROYED'
  | (string & {})
