/**
 * `sandbox-agent-tools/openai`: the sandbox as tools for the OpenAI Agents SDK (`@openai/agents` 0.20+).
 *
 * A thin mapping of the tool specs in src/tools onto the SDK:
 * - `shell` → the SDK's `shellTool` backed by `SandboxShell` (the Responses API's native shell tool),
 * - `apply_patch` → the SDK's `applyPatchTool` backed by `SandboxEditor`,
 * - every other spec → a function tool (`tool()`), with images returned as image content parts.
 * With `nativeTools: false`, `shell` and `apply_patch` are function tools too (Chat Completions models,
 * or Responses models without the native tools).
 */
import {
  type ApplyPatchOperation,
  type ApplyPatchResult,
  applyPatchTool,
  type Editor,
  type FunctionTool,
  type Shell,
  type ShellAction,
  type ShellOutputResult,
  type ShellResult,
  shellTool,
  type Tool,
  tool,
} from '@openai/agents'
import { describeError, PatchError, truncateForMessage } from '../../src/errors.js'
import { DEFAULT_MAX_BYTES, type OutputLimits, truncateMiddle } from '../../src/output.js'
import { parsePatch } from '../../src/patch.js'
import type { CommandResult, SandboxSession } from '../../src/session.js'
import {
  type ApprovalPolicy,
  applyPatchText,
  approvalFor,
  fitStreams,
  needsApproval,
  runTool,
  type SandboxToolsOptions,
  selectTools,
  type ToolName,
  type ToolOutput,
  type ToolSpec,
  toolErrorText,
} from '../../src/tools/index.js'

// ------------------------------------------------------------------ SandboxShell

export interface SandboxShellOptions {
  /** Output limits per command (default 16 KiB of stdout + stderr); `action.maxOutputLength` overrides `maxBytes`. */
  output?: OutputLimits
}

/**
 * The SDK's `Shell` on a sandbox session: commands run in order with the session's persistent working
 * directory and exported variables, `timeoutMs` and `maxOutputLength` are honoured, and a failure's
 * real reason reaches the model in stderr.
 */
export class SandboxShell implements Shell {
  constructor(
    readonly session: SandboxSession,
    readonly options: SandboxShellOptions = {},
  ) {}

  async run(action: ShellAction): Promise<ShellResult> {
    const commands = Array.isArray(action.commands) ? action.commands : []
    const requested = positiveInt(action.maxOutputLength)
    const limits = this.session.outputLimits({
      ...this.options.output,
      ...(requested ? { maxBytes: requested } : {}),
    })
    const budget = limits.maxBytes ?? DEFAULT_MAX_BYTES
    const timeoutMs = positiveInt(action.timeoutMs)
    const output: ShellOutputResult[] = []
    if (commands.length === 0) {
      output.push(entry('', 'No command to run: action.commands is empty.', [], budget, null))
    }
    for (const [i, command] of commands.entries()) {
      const notes: string[] = []
      let result: CommandResult | undefined
      let failure: string | undefined
      try {
        result = await this.session.exec(command, { output: limits, ...(timeoutMs ? { timeoutMs } : {}) })
      } catch (error) {
        failure = `Sandbox error: ${describeError(error)}`
      }
      if (result?.fullOutputPath) {
        notes.push(`[output was cut; the full output is in ${result.fullOutputPath}]`)
      }
      const rest = commands.slice(i + 1)
      const stop = failure !== undefined || result?.timedOut === true
      if (stop && rest.length > 0) {
        const why = failure !== undefined ? 'this command failed to run' : 'this command timed out'
        const list = rest.map((c) => `  ${truncateForMessage(c, 120)}`).join('\n')
        notes.push(
          `Skipped the ${rest.length} later command${rest.length === 1 ? '' : 's'} because ${why}:\n${list}`,
        )
      }
      if (result) {
        output.push(
          entry(
            result.stdout.text,
            result.stderr.text,
            notes,
            budget,
            result.timedOut ? 'timeout' : result.exitCode,
          ),
        )
      } else {
        output.push(entry('', failure ?? '', notes, budget, null))
      }
      if (stop) break
    }
    return {
      output,
      ...(requested ? { maxOutputLength: requested } : {}),
      providerData: { cwd: this.session.cwd },
    }
  }
}

/** One command's output: stdout + stderr + notes within `budget` bytes (notes go at the end of stderr). */
function entry(
  stdout: string,
  stderr: string,
  notes: string[],
  budget: number,
  outcome: number | null | 'timeout',
): ShellOutputResult {
  let note = notes.join('\n')
  if (note && utf8Length(note) > Math.floor(budget / 2)) note = truncateMiddle(note, Math.floor(budget / 2))
  const room = Math.max(0, budget - (note ? utf8Length(note) + 1 : 0))
  const fitted = fitStreams(stdout, stderr, room)
  const err = note ? (fitted.stderr ? `${fitted.stderr.replace(/\n$/, '')}\n${note}` : note) : fitted.stderr
  return {
    stdout: fitted.stdout,
    stderr: err,
    outcome: outcome === 'timeout' ? { type: 'timeout' } : { type: 'exit', exitCode: outcome },
  }
}

// ------------------------------------------------------------------ SandboxEditor

type CreateFileOperation = Extract<ApplyPatchOperation, { type: 'create_file' }>
type UpdateFileOperation = Extract<ApplyPatchOperation, { type: 'update_file' }>
type DeleteFileOperation = Extract<ApplyPatchOperation, { type: 'delete_file' }>

/**
 * The SDK's `Editor` on a sandbox session. Each operation is applied as the one-file V4A patch it
 * stands for, through the same code as the `apply_patch` tool: paths contained by the session,
 * everything checked before anything is written, atomic writes, CRLF and BOM kept, `moveTo`
 * honoured, create never clobbers. Failures come back as `{ status: 'failed', output }` saying what
 * to fix; a failed operation changes nothing.
 */
export class SandboxEditor implements Editor {
  constructor(readonly session: SandboxSession) {}

  createFile(operation: CreateFileOperation, _context?: unknown): Promise<ApplyPatchResult> {
    return this.#apply('create', operation)
  }

  updateFile(operation: UpdateFileOperation, _context?: unknown): Promise<ApplyPatchResult> {
    return this.#apply('update', operation)
  }

  deleteFile(operation: DeleteFileOperation, _context?: unknown): Promise<ApplyPatchResult> {
    return this.#apply('delete', operation)
  }

  async #apply(verb: string, operation: ApplyPatchOperation): Promise<ApplyPatchResult> {
    try {
      const patch = operationToPatch(operation)
      // one operation changes one file: a diff that smuggles in "*** Delete File: …" (or a path with
      // a line break) must not reach other files behind an approval given for this one
      const ops = parsePatch(patch)
      const moveTo = operation.type === 'update_file' ? operation.moveTo : undefined
      const only = ops[0]
      if (
        ops.length !== 1 ||
        only?.path !== operation.path ||
        (only.type === 'update' && only.moveTo !== moveTo)
      ) {
        throw new PatchError(
          `the ${operation.type} operation for ${JSON.stringify(operation.path)} describes more than that one file.`,
          'Send one operation per file, and no "*** " header lines inside its diff.',
        )
      }
      const { summary } = await applyPatchText(this.session, patch)
      return { status: 'completed', output: summary }
    } catch (error) {
      return {
        status: 'failed',
        output: `Could not ${verb} ${truncateForMessage(operation.path)}: ${describeError(error)}`,
      }
    }
  }
}

/** An apply_patch operation as a one-file V4A patch: the neutral `apply_patch` input for approval policies. */
export function operationToPatch(operation: ApplyPatchOperation): string {
  const body = (diff: string) => (diff === '' || diff.endsWith('\n') ? diff : `${diff}\n`)
  switch (operation.type) {
    case 'create_file':
      return `*** Begin Patch\n*** Add File: ${operation.path}\n${body(operation.diff)}*** End Patch\n`
    case 'update_file':
      return `*** Begin Patch\n*** Update File: ${operation.path}\n${operation.moveTo ? `*** Move to: ${operation.moveTo}\n` : ''}${body(operation.diff)}*** End Patch\n`
    case 'delete_file':
      return `*** Begin Patch\n*** Delete File: ${operation.path}\n*** End Patch\n`
  }
}

// ------------------------------------------------------------------ sandboxTools

export interface OpenAISandboxToolsOptions extends SandboxToolsOptions {
  /**
   * `true` (default): `shell` and `apply_patch` are the SDK's `shellTool` / `applyPatchTool`, the
   * Responses API's native tool types (`OpenAIResponsesModel` with a model that supports them).
   * `false`: they are function tools like the others — for Chat Completions models
   * (`OpenAIChatCompletionsModel`, `setOpenAIAPI('chat_completions')`), other providers, and Responses
   * models without the native tools.
   */
  nativeTools?: boolean
}

/**
 * The sandbox's tools for an `Agent`: `shellTool` + `applyPatchTool` (or their function-tool versions
 * with `nativeTools: false`) and function tools for files, code, processes and ports.
 *
 * @example
 * const agent = new Agent({ name: 'coder', model: 'gpt-5.1', tools: sandboxTools(session) })
 */
export function sandboxTools<TContext = unknown>(
  session: SandboxSession,
  options: OpenAISandboxToolsOptions = {},
): Tool<TContext>[] {
  const native = options.nativeTools !== false
  return selectTools(options).map((spec): Tool<TContext> => {
    if (native && spec.name === 'shell') {
      return shellTool({
        shell: new SandboxShell(session, options.output ? { output: options.output } : {}),
        needsApproval: shellApproval(options.approval),
      }) as Tool<TContext>
    }
    if (native && spec.name === 'apply_patch') {
      return applyPatchTool({
        editor: new SandboxEditor(session),
        needsApproval: patchApproval(options.approval),
      }) as Tool<TContext>
    }
    return sandboxFunctionTool<TContext>(spec, session, options)
  })
}

/**
 * One tool spec as an SDK function tool. The model sees a strict JSON schema (optional fields become
 * nullable, as the Responses API's strict mode requires); the arguments are validated by the spec's
 * own schema, so a bad argument comes back to the model as an error naming the field.
 */
export function sandboxFunctionTool<TContext = unknown>(
  spec: ToolSpec,
  session: SandboxSession,
  options: Pick<SandboxToolsOptions, 'output' | 'approval'> = {},
): FunctionTool<TContext, any, unknown> {
  const name = spec.name as ToolName
  const policy = options.approval
  const base = tool({
    name: spec.name,
    description: spec.description,
    // Validation is ours (runTool → parseToolInput): the SDK only parses the JSON. Its own validation
    // would answer a bad argument with a fixed text that names nothing.
    parameters: { type: 'object', properties: {}, required: [], additionalProperties: true },
    strict: false,
    needsApproval:
      typeof policy === 'function'
        ? async (_runContext: unknown, input: unknown) =>
            needsApproval(policy, name, fromStrictInput(spec, input))
        : (approvalFor(policy, name) as boolean),
    errorFunction: (_runContext, error) => toolErrorText(spec, error),
    async execute(input, _runContext, details) {
      const output = await runTool(spec, session, fromStrictInput(spec, input), {
        ...(details?.signal ? { signal: details.signal } : {}),
        ...(options.output ? { output: options.output } : {}),
      })
      return toFunctionOutput(output)
    },
  })
  return { ...base, parameters: strictParameters(spec), strict: true } as FunctionTool<TContext, any, unknown>
}

const strictSchemas = new WeakMap<ToolSpec, FunctionTool['parameters']>()

/** The spec's zod schema as the SDK converts it for strict mode (what any zod-based SDK tool sends). */
function strictParameters(spec: ToolSpec): FunctionTool['parameters'] {
  let schema = strictSchemas.get(spec)
  if (!schema) {
    schema = tool({
      name: spec.name,
      description: spec.description,
      parameters: spec.inputSchema as any,
      strict: true,
      execute: () => '',
    }).parameters
    strictSchemas.set(spec, schema)
  }
  return schema
}

/**
 * Strict mode makes optional fields required-but-nullable, so models send `null` for "not given":
 * drop a top-level `null` where the spec's schema accepts the field being absent but not `null`.
 */
function fromStrictInput(spec: ToolSpec, input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input
  const shape = (
    spec.inputSchema as unknown as { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> }
  ).shape
  if (!shape) return input
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) {
    const field = shape[key]
    if (value === null && field && !field.safeParse(null).success && field.safeParse(undefined).success)
      continue
    out[key] = value
  }
  return out
}

type FunctionOutput =
  | string
  | Array<{ type: 'text'; text: string } | { type: 'image'; image: { data: string; mediaType: string } }>

/** Text as a string; with images, a text part followed by image parts (sent as `input_image`). */
function toFunctionOutput(output: ToolOutput): FunctionOutput {
  if (!output.images?.length) return output.text
  return [
    { type: 'text', text: output.text },
    ...output.images.map((image) => ({
      type: 'image' as const,
      image: { data: image.data, mediaType: image.mediaType },
    })),
  ]
}

// ------------------------------------------------------------------ approval

/** A shell action needs approval when any of its commands does (each asked as `{ command, timeout_ms? }`). */
function shellApproval(
  policy: ApprovalPolicy | undefined,
): boolean | ((rc: unknown, action: ShellAction) => Promise<boolean>) {
  if (typeof policy !== 'function') return approvalFor(policy, 'shell') as boolean
  return async (_runContext, action) => {
    for (const command of action.commands ?? []) {
      const input = { command, ...(action.timeoutMs ? { timeout_ms: action.timeoutMs } : {}) }
      if (await needsApproval(policy, 'shell', input)) return true
    }
    return false
  }
}

/** An apply_patch operation is asked as `{ patch, operation }`: the one-file V4A patch, and the SDK's operation. */
function patchApproval(
  policy: ApprovalPolicy | undefined,
): boolean | ((rc: unknown, operation: ApplyPatchOperation) => Promise<boolean>) {
  if (typeof policy !== 'function') return approvalFor(policy, 'apply_patch') as boolean
  return async (_runContext, operation) =>
    needsApproval(policy, 'apply_patch', { patch: operationToPatch(operation), operation })
}

// ------------------------------------------------------------------ helpers

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length
}

export type { ApprovalPolicy, SandboxToolsOptions, ToolName } from '../../src/tools/index.js'
