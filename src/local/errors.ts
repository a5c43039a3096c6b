import type { SandboxErrorCode } from '../backend.js'

/** HTTP statuses the container attaches to each code (its ERROR_STATUS_MAP); anything else is 500. */
const HTTP_STATUS: Record<string, number> = {
  FILE_NOT_FOUND: 404,
  PROCESS_NOT_FOUND: 404,
  CONTEXT_NOT_FOUND: 404,
  IS_DIRECTORY: 400,
  NOT_DIRECTORY: 400,
  INVALID_PORT: 400,
  VALIDATION_FAILED: 400,
  PERMISSION_DENIED: 403,
  READ_ONLY: 403,
  FILE_EXISTS: 409,
  PORT_ALREADY_EXPOSED: 409,
  RESOURCE_BUSY: 409,
  SANDBOX_DESTROYED: 410,
  FILE_TOO_LARGE: 413,
}

/**
 * An error shaped like the SDK's `SandboxError`: a stable `code`, the container's `httpStatus`,
 * the `operation` that failed and a `context` object. Callers check `code`, never the message.
 */
export class LocalSandboxError extends Error {
  override name = 'SandboxError'
  readonly code: SandboxErrorCode
  readonly httpStatus: number
  readonly operation: string | undefined
  readonly context: Record<string, unknown>
  readonly timestamp = new Date().toISOString()

  constructor(
    code: SandboxErrorCode,
    message: string,
    options: { operation?: string; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.httpStatus = HTTP_STATUS[code] ?? 500
    this.operation = options.operation
    this.context = options.context ?? {}
  }

  toJSON() {
    return {
      code: this.code,
      message: this.message,
      httpStatus: this.httpStatus,
      operation: this.operation,
      context: this.context,
      timestamp: this.timestamp,
    }
  }
}

const ERRNO_CODES: Record<string, SandboxErrorCode> = {
  ENOENT: 'FILE_NOT_FOUND',
  EISDIR: 'IS_DIRECTORY',
  ENOTDIR: 'NOT_DIRECTORY',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'READ_ONLY',
  EEXIST: 'FILE_EXISTS',
  ENOTEMPTY: 'FILE_EXISTS',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EFBIG: 'FILE_TOO_LARGE',
  EBUSY: 'RESOURCE_BUSY',
}

/** Maps a Node `fs` error to the SDK code for it; `path` is the sandbox path the caller gave. */
export function fileError(error: unknown, path: string, operation: string): LocalSandboxError {
  if (error instanceof LocalSandboxError) return error
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? ''
  const code = ERRNO_CODES[errno] ?? 'FILESYSTEM_ERROR'
  const reason = code === 'FILE_NOT_FOUND' ? 'File not found' : (error as Error).message.split(',')[0]
  return new LocalSandboxError(code, `${reason}: ${path}`, { operation, context: { path }, cause: error })
}
