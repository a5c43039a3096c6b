/**
 * Vercel AI SDK 7 adapter: the sandbox tools as a `ToolSet` for `generateText`, `streamText` and
 * `ToolLoopAgent`.
 *
 * A thin mapping of `src/tools`: names, descriptions, schemas and behaviour come from the tool
 * specs; this file only says how the AI SDK sees them —
 * - inputs are validated with the spec's zod schema, and a bad input reaches the model as an error
 *   naming the field (`parseToolInput`);
 * - images (run_code charts, images read by read_file) reach the model through `toModelOutput` as
 *   file parts; the structured `data` stays with the program;
 * - `shell` (and `run_code`, once its spec reports progress) streams its output so far as preliminary
 *   results;
 * - `approval` maps onto the SDK's tool approval (per-tool `needsApproval`, and `sandboxToolApproval`
 *   for `toolApproval`);
 * - a failing call throws an Error whose message is the real reason, which the SDK hands to the model
 *   as an `error-text` tool result; the loop continues.
 */
import { jsonSchema, type Tool, type ToolApprovalStatus, tool, zodSchema } from 'ai'
import type { SandboxSession } from '../../src/session.js'
import {
  type applyPatch,
  approvalFor,
  type editFile,
  type exposePort,
  type listFiles,
  needsApproval,
  parseToolInput,
  type processOutput,
  type readFile,
  type runCode,
  runTool,
  type SandboxToolsOptions,
  selectTools,
  type shell,
  type startProcess,
  type stopProcess,
  type ToolContext,
  type ToolImage,
  type ToolName,
  type ToolOutput,
  type ToolSpec,
  toolErrorText,
  type writeFile,
} from '../../src/tools/index.js'

/** Options of the AI SDK `sandboxTools`: the shared ones, plus how images are handed to the model. */
export interface AiSandboxToolsOptions extends SandboxToolsOptions {
  /**
   * Send images (run_code charts, images read with read_file) to the model as file parts. Default
   * true. Set false for models that cannot take images in tool results — e.g. OpenAI Chat Completions
   * (`openai.chat(...)`), whose provider turns a multi-part tool result into a JSON string, base64
   * included. The text result always says that an image was produced.
   */
  images?: boolean
}

/**
 * What a sandbox tool's `execute` produces. The final result is the tool's `ToolOutput`: `text` is
 * what the model reads, `images` are shown to multimodal models, `data` is the structured result for
 * programs and UIs (never sent to the model). While `shell` runs, preliminary results carry the
 * output so far in `text` (never empty), with `partial: true` and `data: null`; the last result the
 * stream reports is the final one.
 */
export interface SandboxToolOutput<D = unknown> extends ToolOutput<D | null> {
  /** true on a preliminary (streaming) result; absent on the final one. */
  partial?: true
}

type InputOf<S> = S extends ToolSpec<infer I> ? I : never

/** The input type of each tool, as the model sends it (validated). */
export interface SandboxToolInputs {
  shell: InputOf<typeof shell>
  read_file: InputOf<typeof readFile>
  write_file: InputOf<typeof writeFile>
  edit_file: InputOf<typeof editFile>
  apply_patch: InputOf<typeof applyPatch>
  list_files: InputOf<typeof listFiles>
  run_code: InputOf<typeof runCode>
  start_process: InputOf<typeof startProcess>
  process_output: InputOf<typeof processOutput>
  stop_process: InputOf<typeof stopProcess>
  expose_port: InputOf<typeof exposePort>
}

/** The tool names `include` / `exclude` select. */
export type SelectedTools<I extends readonly ToolName[], E extends readonly ToolName[]> = Exclude<
  I[number],
  E[number]
>

/** The ToolSet `sandboxTools` returns, keyed by the neutral tool names. */
export type SandboxToolSet<N extends ToolName = ToolName> = {
  [K in N]: Tool<SandboxToolInputs[K], SandboxToolOutput>
}

/** A `toolApproval` map for the sandbox tools (see `sandboxToolApproval`). */
export type SandboxToolApproval<N extends ToolName = ToolName> = {
  [K in N]: (input: SandboxToolInputs[K]) => Promise<ToolApprovalStatus>
}

type ModelOutput = Awaited<ReturnType<NonNullable<Tool['toModelOutput']>>>

/** Tools whose output streams as preliminary results while they run. */
const STREAMING: ReadonlySet<string> = new Set<ToolName>(['shell', 'run_code'])

/**
 * The sandbox tools as an AI SDK 7 `ToolSet`, keyed by tool name (`shell`, `read_file`, …).
 *
 * ```ts
 * const result = await generateText({ model, tools: sandboxTools(session), stopWhen: stepCountIs(20), prompt })
 * ```
 *
 * `approval` marks calls that need a human: they come back as `tool-approval-request` parts and run
 * once a `tool-approval-response` approves them (denied calls never run). It is set on each tool
 * (`needsApproval`), so it works with no further wiring; `toolApproval` given to `generateText` /
 * `streamText` takes precedence — use `sandboxToolApproval(options)` there for the same policy.
 */
export function sandboxTools<
  const I extends readonly ToolName[] = readonly ToolName[],
  const E extends readonly ToolName[] = readonly [],
>(
  session: SandboxSession,
  options?: AiSandboxToolsOptions & { include?: I; exclude?: E },
): SandboxToolSet<SelectedTools<I, E>> {
  const specs = selectTools(options ?? {})
  const set: Record<string, Tool> = {}
  for (const spec of specs) set[spec.name] = toAiTool(spec, session, options ?? {})
  return set as SandboxToolSet<SelectedTools<I, E>>
}

/**
 * The `toolApproval` map (AI SDK 7's way of asking for approval) for an approval policy: one entry
 * per selected tool, `'user-approval'` for the calls the policy marks, `'not-applicable'` otherwise.
 * Spread it into your own map to add other tools:
 * `toolApproval: { ...sandboxToolApproval({ approval: ['shell', 'write_file'] }), deploy: 'user-approval' }`.
 */
export function sandboxToolApproval<
  const I extends readonly ToolName[] = readonly ToolName[],
  const E extends readonly ToolName[] = readonly [],
>(
  options: Pick<SandboxToolsOptions, 'approval'> & { include?: I; exclude?: E },
): SandboxToolApproval<SelectedTools<I, E>> {
  const map: Record<string, (input: unknown) => Promise<ToolApprovalStatus>> = {}
  for (const spec of selectTools(options)) {
    const name = spec.name as ToolName
    map[name] = async (input) =>
      (await needsApproval(options.approval, name, input)) ? 'user-approval' : 'not-applicable'
  }
  return map as SandboxToolApproval<SelectedTools<I, E>>
}

/** One tool spec as an AI SDK tool. */
export function toAiTool(spec: ToolSpec, session: SandboxSession, options: AiSandboxToolsOptions = {}): Tool {
  const base = zodSchema(spec.inputSchema)
  const inputSchema = jsonSchema<unknown>(() => base.jsonSchema, {
    // the spec's own parser: a bad input becomes an error that names each field and the expected form
    validate: (value) => {
      try {
        return { success: true, value: parseToolInput(spec, value) }
      } catch (error) {
        return { success: false, error: error as Error }
      }
    },
  })
  const ctx = (abortSignal: AbortSignal | undefined): ToolContext => ({
    ...(abortSignal ? { signal: abortSignal } : {}),
    ...(options.output ? { output: options.output } : {}),
  })
  const approval = approvalFor(options.approval, spec.name as ToolName)
  const images = options.images !== false
  const common = {
    description: spec.description,
    inputSchema,
    toModelOutput: ({ output }: { output: SandboxToolOutput }) => toModelOutput(output, images),
    ...(approval !== false ? { needsApproval: approval } : {}),
  }
  if (STREAMING.has(spec.name)) {
    return tool<unknown, SandboxToolOutput, Record<string, unknown>>({
      ...common,
      execute: (input, { abortSignal }) => streamTool(spec, session, input, ctx(abortSignal)),
    })
  }
  return tool<unknown, SandboxToolOutput, Record<string, unknown>>({
    ...common,
    execute: async (input, { abortSignal }) => {
      const result = await settle(spec, session, input, ctx(abortSignal))
      if (!result.ok) throw result.error
      return result.value
    },
  })
}

/** What the model reads: the text, plus the images as file parts when there are any. */
export function toModelOutput(output: SandboxToolOutput, images = true): ModelOutput {
  const text = typeof output?.text === 'string' ? output.text : String(output)
  if (!images || !output?.images?.length) return { type: 'text', value: text }
  return {
    type: 'content',
    value: [
      { type: 'text', text },
      ...output.images.map((image: ToolImage) => ({
        type: 'file' as const,
        data: { type: 'data' as const, data: image.data },
        mediaType: image.mediaType,
      })),
    ],
  }
}

/**
 * The error a failed call throws. The SDK hands the model `String(error)`, so `toString()` is the
 * message alone (`toolErrorText`: the tool, what went wrong and what to do), without a name prefix.
 */
export class SandboxToolCallError extends Error {
  override name = 'SandboxToolCallError'
  readonly tool: string

  constructor(spec: Pick<ToolSpec, 'name'>, error: unknown) {
    super(toolErrorText(spec, error), { cause: error })
    this.tool = spec.name
  }

  override toString(): string {
    return this.message
  }
}

function toolError(spec: Pick<ToolSpec, 'name'>, error: unknown): Error {
  return new SandboxToolCallError(spec, error)
}

type Settled = { ok: true; value: SandboxToolOutput } | { ok: false; error: Error }

/** Runs the tool; settles early (as an error) when the call is aborted. */
async function settle(
  spec: ToolSpec,
  session: SandboxSession,
  input: unknown,
  ctx: ToolContext,
): Promise<Settled> {
  const run = runTool(spec, session, input, ctx).then(
    (value): Settled => ({ ok: true, value }),
    (error): Settled => ({ ok: false, error: toolError(spec, error) }),
  )
  const signal = ctx.signal
  if (!signal) return run
  if (signal.aborted) return { ok: false, error: aborted(spec, signal) }
  let onAbort: (() => void) | undefined
  const abort = new Promise<Settled>((resolve) => {
    onAbort = () => resolve({ ok: false, error: aborted(spec, signal) })
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([run, abort])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Runs a streaming tool as an async generator: each progress report (the output so far) is yielded
 * as a preliminary result as soon as it arrives (reports that arrive while the consumer is busy are
 * coalesced into the latest), then the final result. Errors are thrown as tool errors; an abort ends
 * the generator at once.
 */
async function* streamTool(
  spec: ToolSpec,
  session: SandboxSession,
  input: unknown,
  ctx: ToolContext,
): AsyncGenerator<SandboxToolOutput, void, undefined> {
  let latest: string | undefined
  let result: Settled | undefined
  let wake: (() => void) | undefined
  const notify = () => {
    const resolve = wake
    wake = undefined
    resolve?.()
  }
  settle(spec, session, input, {
    ...ctx,
    onProgress: (partial) => {
      latest = partial
      notify()
    },
  }).then((settled) => {
    result = settled
    notify()
  })
  let sent: string | undefined
  for (;;) {
    if (result) break
    if (latest && latest !== sent) {
      sent = latest
      yield { text: latest, data: null, partial: true }
      continue
    }
    await new Promise<void>((resolve) => {
      wake = resolve
    })
  }
  if (!result.ok) throw result.error
  yield result.value
}

function aborted(spec: ToolSpec, signal: AbortSignal): Error {
  const reason = signal.reason
  const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : ''
  return toolError(spec, new Error(`the call was aborted${why}.`))
}
