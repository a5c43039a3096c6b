/**
 * sandbox-agent-tools/langchain — the sandbox tools as LangChain tools (`tool()` from @langchain/core).
 *
 * A thin mapping of src/tools: names, descriptions, schemas and behaviour come from the tool specs.
 * What this file decides is only how a result reaches a LangChain agent:
 *
 * - Every tool uses `responseFormat: 'content_and_artifact'`: the content is what the model reads
 *   (the tool's text, plus image blocks when the tool returns images), the artifact is the
 *   structured result (`ToolOutput.data`), kept on the ToolMessage and never sent to the model.
 * - A failed call (invalid input, a refused path, a failed command or patch…) ends as a
 *   `ToolMessage` with `status: 'error'` and the real reason (`toolErrorText`), whatever runs the
 *   tool (createAgent, a LangGraph ToolNode, a `wrapToolCall` middleware): nothing is thrown into
 *   the agent loop. Called directly with plain arguments (no tool call), a tool throws the error.
 * - Approval: LangChain asks a human through `humanInTheLoopMiddleware`, configured per tool name;
 *   `sandboxInterruptOn(options)` turns the same `approval` policy into its `interruptOn` map.
 * - Progress of a running command goes to the LangGraph stream writer (`streamMode: 'custom'`) as
 *   `SandboxProgress` chunks.
 */
import { ToolMessage } from '@langchain/core/messages'
import { type DynamicStructuredTool, type ToolRuntime, tool } from '@langchain/core/tools'
import type { z } from 'zod'
import { errorCode } from '../../src/errors.js'
import type { SandboxSession } from '../../src/session.js'
import {
  approvalFor,
  needsApproval,
  runTool,
  type SandboxToolsOptions,
  selectTools,
  type ToolContext,
  type ToolImage,
  type ToolName,
  type ToolOutput,
  type ToolSpec,
  toolErrorText,
} from '../../src/tools/index.js'

export type { ApprovalPolicy, SandboxToolsOptions, ToolName, ToolOutput } from '../../src/tools/index.js'

/** A sandbox tool as LangChain sees it. `invoke` with a tool call resolves to a `ToolMessage`. */
export type SandboxLangChainTool = DynamicStructuredTool

/**
 * An image for the model, as a LangChain content block. It is a standard v1 image block
 * (`type`, `mimeType`, `data`) that also carries the `source_type`/`mime_type` keys of the data-block
 * format: @langchain/openai 1.6 turns the v1 form into an `input_image` for the Responses API but
 * converts only the data-block form into an `image_url` part for Chat Completions (a bare v1 block
 * is sent as is, which is not a Chat Completions content part). `message.contentBlocks` reads it as a plain v1 image block.
 */
export interface SandboxImageBlock {
  type: 'image'
  mimeType: string
  data: string
  source_type: 'base64'
  mime_type: string
}

export interface SandboxTextBlock {
  type: 'text'
  text: string
}

/** What the model sees: the text alone, or the text followed by image blocks. */
export type SandboxToolContent = string | Array<SandboxTextBlock | SandboxImageBlock>

/** The artifact of a failed call (the model sees `toolErrorText`; programs see the code). */
export interface SandboxToolErrorArtifact {
  error: { code: string | undefined; message: string }
}

/** A chunk on the `custom` stream while a command runs: its output so far (bounded). */
export interface SandboxProgress {
  type: 'sandbox_progress'
  tool: ToolName
  toolCallId: string | undefined
  output: string
}

/** The content a tool result is shown to the model as. */
function toolContent(output: ToolOutput): SandboxToolContent {
  if (!output.images?.length) return output.text
  return [{ type: 'text', text: output.text }, ...output.images.map(imageBlock)]
}

function imageBlock(image: ToolImage): SandboxImageBlock {
  return {
    type: 'image',
    mimeType: image.mediaType,
    data: image.data,
    source_type: 'base64',
    mime_type: image.mediaType,
  }
}

/**
 * The sandbox tools as LangChain tools, for `createAgent({ tools })`, `model.bindTools()` or a
 * LangGraph `ToolNode`. `include`/`exclude` choose the tools, `output` bounds every result.
 * `approval` is enforced by LangChain's human-in-the-loop middleware: pass the same options to
 * `sandboxInterruptOn()` for its `interruptOn` map.
 */
export function sandboxTools(
  session: SandboxSession,
  options: SandboxToolsOptions = {},
): SandboxLangChainTool[] {
  const specs = selectTools(options)
  return specs.map((spec) => toLangChainTool(spec, session, options))
}

/** Tool input as parsed by LangChain: the spec's input, or the raw input when it did not validate. */
type LenientInput = Record<string, unknown>

function toLangChainTool(
  spec: ToolSpec,
  session: SandboxSession,
  options: SandboxToolsOptions,
): SandboxLangChainTool {
  return tool(
    async (
      input: LenientInput,
      runtime: ToolRuntime | undefined,
    ): Promise<[SandboxToolContent | ToolMessage, unknown]> => {
      const toolCallId = runtime?.toolCall?.id ?? runtime?.toolCallId
      const writer = typeof runtime?.writer === 'function' ? runtime.writer : undefined
      const ctx: ToolContext = {
        ...(runtime?.signal ? { signal: runtime.signal } : {}),
        ...(options.output ? { output: options.output } : {}),
        ...(writer
          ? {
              onProgress: (output: string) => {
                const chunk: SandboxProgress = {
                  type: 'sandbox_progress',
                  tool: spec.name as ToolName,
                  toolCallId,
                  output,
                }
                if (output) writer(chunk)
              },
            }
          : {}),
      }
      try {
        // runTool validates with the spec's schema (parseToolInput): an invalid call fails here
        // with a message naming each bad field, like in every other adapter.
        const output = await runTool(spec, session, input, ctx)
        return [toolContent(output), output.data]
      } catch (error) {
        if (!toolCallId || runtime?.signal?.aborted) throw error
        const artifact: SandboxToolErrorArtifact = {
          error: { code: errorCode(error), message: error instanceof Error ? error.message : String(error) },
        }
        const message = new ToolMessage({
          content: toolErrorText(spec, error),
          status: 'error',
          tool_call_id: toolCallId,
          name: spec.name,
          artifact,
        })
        // A ToolMessage returned as content is passed through unchanged by @langchain/core.
        return [message, artifact]
      }
    },
    {
      name: spec.name,
      description: spec.description,
      schema: lenientSchema(spec),
      responseFormat: 'content_and_artifact',
    },
  ) as unknown as SandboxLangChainTool
}

/**
 * The spec's schema for LangChain. The model gets exactly the spec's JSON schema, but input that
 * does not match is passed on unchanged instead of failing in @langchain/core (which throws a
 * `ToolInputParsingException` before the tool runs: `createAgent` shows the model its stack trace,
 * a plain `tool.invoke(toolCall)` throws it). `runTool` then validates it and the call ends as an
 * error ToolMessage naming the fields, as in every other adapter. (`catch` renders as its inner schema; `catchValue(undefined)` only
 * runs for the JSON schema and yields no `default`.)
 */
function lenientSchema(spec: ToolSpec): z.ZodType<LenientInput> {
  const schema = spec.inputSchema as z.ZodType<LenientInput>
  return schema.catch((ctx) => ctx?.input as LenientInput)
}

// ------------------------------------------------------------------ approval

/** A decision a human can take on an interrupted call (`humanInTheLoopMiddleware`). */
export type ApprovalDecision = 'approve' | 'edit' | 'reject'

/** One entry of `humanInTheLoopMiddleware({ interruptOn })`, structurally (no import of `langchain`). */
export interface SandboxInterruptOnConfig {
  allowedDecisions: ApprovalDecision[]
  /** Shown to the human with the request (the middleware's default names the tool and its arguments). */
  description?: string
  /** For a function policy: asks the policy per call; `false` lets the call run without a human. */
  when?: (request: { toolCall: { name: string; args: Record<string, any> } }) => Promise<boolean>
}

export interface SandboxInterruptOnOptions {
  /** The decisions offered for every interrupted call. Default: approve, edit and reject. */
  allowedDecisions?: ApprovalDecision[]
  /** A fixed description for every request (default: the middleware's, with tool and arguments). */
  description?: string
}

/**
 * The `interruptOn` map for LangChain's `humanInTheLoopMiddleware` that asks a human exactly for the
 * calls `options.approval` marks, among the tools `include`/`exclude` select: `true` marks every
 * tool, a list marks those tools, a function is asked per call (through the middleware's `when`
 * predicate, with the call's raw arguments). No approval: an empty map.
 *
 * ```ts
 * const options = { approval: ['shell', 'write_file'] } satisfies SandboxToolsOptions
 * createAgent({
 *   model, tools: sandboxTools(session, options), checkpointer: new MemorySaver(),
 *   middleware: [humanInTheLoopMiddleware({ interruptOn: sandboxInterruptOn(options) })],
 * })
 * ```
 */
export function sandboxInterruptOn(
  options: SandboxToolsOptions = {},
  config: SandboxInterruptOnOptions = {},
): Record<string, SandboxInterruptOnConfig> {
  const policy = options.approval
  const names = selectTools(options).map((spec) => spec.name as ToolName)
  const base = (): SandboxInterruptOnConfig => ({
    allowedDecisions: [...(config.allowedDecisions ?? ['approve', 'edit', 'reject'])],
    ...(config.description !== undefined ? { description: config.description } : {}),
  })
  const map: Record<string, SandboxInterruptOnConfig> = {}
  for (const name of names) {
    if (typeof policy === 'function') {
      map[name] = {
        ...base(),
        when: ({ toolCall }) => needsApproval(policy, toolCall.name as ToolName, toolCall.args),
      }
    } else if (approvalFor(policy, name) === true) {
      map[name] = base()
    }
  }
  return map
}
