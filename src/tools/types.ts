import type { z } from 'zod'
import type { OutputLimits } from '../output.js'
import type { SandboxSession } from '../session.js'

/** An image for the model (base64, no data: prefix). */
export interface ToolImage {
  data: string
  mediaType: string
}

/**
 * What every tool returns. `text` is what the model reads (always bounded), `images` are shown to
 * multimodal models, `data` is the structured result for programs and UIs (never sent as-is).
 */
export interface ToolOutput<D = unknown> {
  text: string
  images?: ToolImage[]
  data: D
}

export interface ToolContext {
  /** Aborts the call (the framework's abort signal). */
  signal?: AbortSignal
  /** Called with the output so far while a long call runs (streaming UIs). Bounded text. */
  onProgress?: (partial: string) => void
  /** Output limits for this call (merged over the session's). */
  output?: OutputLimits
}

/** A framework-neutral tool: the one place that defines its name, description, schema and behaviour. */
export interface ToolSpec<I = any, D = unknown> {
  /** Matches ^[a-zA-Z0-9_-]+$ */
  readonly name: string
  /** Written for a model. */
  readonly description: string
  readonly inputSchema: z.ZodType<I, any>
  /** true when the tool changes nothing (safe to run without approval). */
  readonly readOnly: boolean
  run(session: SandboxSession, input: I, ctx: ToolContext): Promise<ToolOutput<D>>
}

export type ToolName =
  | 'shell'
  | 'read_file'
  | 'write_file'
  | 'edit_file'
  | 'apply_patch'
  | 'list_files'
  | 'run_code'
  | 'start_process'
  | 'process_output'
  | 'stop_process'
  | 'expose_port'

/** Which calls need a human: every tool, none, a list of names, or a predicate over name and input. */
export type ApprovalPolicy =
  | boolean
  | readonly ToolName[]
  | ((call: { name: ToolName; input: unknown }) => boolean | Promise<boolean>)

/** The options every adapter's `sandboxTools(session, options)` takes. */
export interface SandboxToolsOptions {
  /** Only these tools. */
  include?: readonly ToolName[]
  /** All but these tools. */
  exclude?: readonly ToolName[]
  /** Output limits for every tool result (default 16 KiB per result). */
  output?: OutputLimits
  /** Which calls need a human's approval before they run. Default: none. */
  approval?: ApprovalPolicy
}
