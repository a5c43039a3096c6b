/**
 * Errors with a message written for whoever must fix the problem: a model (through a tool
 * result) or a developer. `code` is stable and machine-readable; `hint` says what to do next.
 */
export class SandboxToolError extends Error {
  override name = 'SandboxToolError'
  readonly code: string
  readonly hint: string | undefined

  constructor(code: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.hint = options?.hint
  }

  /** The text a model should see: message, then the hint. */
  toModelText(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message
  }
}

/** A path was refused by workspace containment (src/paths.ts). */
export class PathError extends SandboxToolError {
  override name = 'PathError'
  readonly path: string
  constructor(path: string, reason: string, hint?: string) {
    super('PATH_REFUSED', `Refused path ${JSON.stringify(truncateForMessage(path))}: ${reason}`, { hint })
    this.path = path
  }
}

/** A patch or exact-match edit did not apply (src/patch.ts). Nothing was changed. */
export class PatchError extends SandboxToolError {
  override name = 'PatchError'
  constructor(message: string, hint?: string) {
    super('PATCH_FAILED', message, { hint })
  }
}

/** Tool input failed validation; names the field and the expected form. */
export class ToolInputError extends SandboxToolError {
  override name = 'ToolInputError'
  constructor(message: string) {
    super('INVALID_INPUT', message)
  }
}

/** A backend call or command ran past its deadline. */
export class SandboxTimeoutError extends SandboxToolError {
  override name = 'SandboxTimeoutError'
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super('TIMEOUT', message, options)
  }
}

/** The session was destroyed; no further operation is possible. */
export class SessionDestroyedError extends SandboxToolError {
  override name = 'SessionDestroyedError'
  constructor() {
    super('SANDBOX_DESTROYED', 'This sandbox session has been destroyed.', {
      hint: 'Create a new session (createSession) to keep working; its workspace starts empty.',
    })
  }
}

export function truncateForMessage(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…(${s.length - max} more chars)` : s
}

/** The `code` of an SDK or backend error (SandboxError keeps it on `.code`), if any. */
export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; errorResponse?: { code?: unknown } }
    if (typeof e.code === 'string') return e.code
    if (typeof e.errorResponse?.code === 'string') return e.errorResponse.code
  }
  return undefined
}

/** A readable one-paragraph description of any thrown value: code, message and SDK suggestion. */
export function describeError(error: unknown): string {
  if (error instanceof SandboxToolError) return error.toModelText()
  if (error instanceof Error) {
    const code = errorCode(error)
    const suggestion = (error as { suggestion?: unknown }).suggestion
    let text = error.message || error.name
    if (code && !text.includes(code)) text = `${code}: ${text}`
    if (typeof suggestion === 'string' && suggestion) text += `\n${suggestion}`
    return text
  }
  return String(error)
}
