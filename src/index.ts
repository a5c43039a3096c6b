export type * from './backend.js'
export {
  describeError,
  errorCode,
  PatchError,
  PathError,
  SandboxTimeoutError,
  SandboxToolError,
  SessionDestroyedError,
  ToolInputError,
} from './errors.js'
export {
  DEFAULT_MAX_BYTES,
  OutputCollector,
  type OutputLimits,
  type ShapedText,
  shapeText,
  stripAnsi,
} from './output.js'
export { applyCreate, applyUpdate, editText, parsePatch, planPatch } from './patch.js'
export { DEFAULT_WORKDIR, resolveWorkspacePath, shellQuote } from './paths.js'
export {
  type CommandResult,
  createSession,
  type ExecCallOptions,
  type RetryOptions,
  SandboxSession,
  type SessionEvent,
  type SessionOptions,
  type SessionState,
  withSession,
} from './session.js'
export { parseSSEStream } from './sse.js'
export * from './tools/index.js'
