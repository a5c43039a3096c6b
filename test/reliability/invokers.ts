/**
 * How each adapter's framework calls a tool, reduced to one function: `invoke(name, input)` returns
 * what the model would read. The same invokers run the shared tool suite (test/tools/*.test.ts) and
 * the reliability proofs, so every proof goes through every adapter's real invocation path:
 *
 * - neutral: `runTool` on the spec (what every adapter calls);
 * - openai: the SDK's own `FunctionTool.invoke(runContext, argumentsJson, details)` (the runner's
 *   call; JSON parsing and `errorFunction` included). `nativeTools: false`, so shell and apply_patch
 *   are function tools too; the native `SandboxShell`/`SandboxEditor` are driven separately;
 * - ai: a real `generateText` step with `MockLanguageModelV4` emitting the tool call (the SDK parses
 *   and validates the input, runs `execute`, and the next prompt holds what the model reads);
 * - langchain: `tool.invoke({ type: 'tool_call', … })` → a `ToolMessage`.
 */
import { ToolMessage } from '@langchain/core/messages'
import { RunContext } from '@openai/agents'
import { generateText, stepCountIs } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { sandboxTools as aiTools } from '../../adapters/ai/index.js'
import { sandboxTools as langchainTools } from '../../adapters/langchain/index.js'
import { sandboxTools as openaiTools } from '../../adapters/openai/index.js'
import { describeError } from '../../src/errors.js'
import type { SandboxSession } from '../../src/session.js'
import { allTools, runTool, type SandboxToolsOptions } from '../../src/tools/index.js'
import type { ModelView } from '../tools/suite.js'

export type AdapterName = 'neutral' | 'openai' | 'ai' | 'langchain'
export const adapterNames: readonly AdapterName[] = ['neutral', 'openai', 'ai', 'langchain']

/**
 * `input` may be a string: the raw arguments a model sent (openai, ai: parsed by the framework,
 * so it can be malformed JSON); otherwise it is serialized as a model would send it.
 */
export type RawInvoke = (name: string, input: unknown) => Promise<ModelView>

let callCounter = 0
const nextId = () => `call_${++callCounter}`

export function neutralInvoker(session: SandboxSession, options: SandboxToolsOptions = {}): RawInvoke {
  return async (name, input) => {
    const spec = allTools.find((t) => t.name === name)
    if (!spec) throw new Error(`no tool ${name}`)
    try {
      const out = await runTool(spec, session, input, options.output ? { output: options.output } : {})
      return { text: out.text, images: out.images?.length ?? 0, error: false }
    } catch (error) {
      return { text: describeError(error), images: 0, error: true }
    }
  }
}

export function openaiInvoker(session: SandboxSession, options: SandboxToolsOptions = {}): RawInvoke {
  const tools = openaiTools(session, { ...options, nativeTools: false })
  const runContext = new RunContext({})
  return async (name, input) => {
    const tool = tools.find((t) => t.name === name)
    if (tool?.type !== 'function') throw new Error(`no function tool ${name}`)
    const args = typeof input === 'string' ? input : JSON.stringify(input)
    const callId = nextId()
    const output = await tool.invoke(runContext, args, {
      toolCall: { type: 'function_call', callId, name, arguments: args },
    })
    if (typeof output === 'string') {
      // errorFunction hands the model `toolErrorText`: "<tool> failed: <why>"
      return { text: output, images: 0, error: output.startsWith(`${name} failed: `) }
    }
    const parts = output as Array<{ type: string; text?: string }>
    return {
      text: parts.map((p) => (p.type === 'text' ? p.text : '')).join(''),
      images: parts.filter((p) => p.type === 'image').length,
      error: false,
    }
  }
}

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
}

export function aiInvoker(session: SandboxSession, options: SandboxToolsOptions = {}): RawInvoke {
  const tools = aiTools(session, options)
  return async (name, input) => {
    const toolCallId = nextId()
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            {
              type: 'tool-call',
              toolCallId,
              toolName: name,
              input: typeof input === 'string' ? input : JSON.stringify(input),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_use' },
          usage,
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'done' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        },
      ],
    })
    await generateText({ model, tools, stopWhen: stepCountIs(2), prompt: 'go' })
    let output: any
    for (const message of model.doGenerateCalls[1]?.prompt ?? []) {
      if (message.role !== 'tool') continue
      for (const part of message.content as any[]) {
        if (part.type === 'tool-result' && part.toolCallId === toolCallId) output = part.output
      }
    }
    if (output === undefined) throw new Error(`the model got no tool result for ${name}`)
    return aiModelView(output)
  }
}

/** What a model reads from an AI SDK tool result (the LanguageModelV4 tool-result output). */
export function aiModelView(output: any): ModelView {
  switch (output?.type) {
    case 'text':
      return { text: output.value, images: 0, error: false }
    case 'content':
      return {
        text: output.value
          .filter((p: any) => p.type === 'text')
          .map((p: any) => p.text)
          .join('\n'),
        images: output.value.filter((p: any) => p.type === 'file' && String(p.mediaType).startsWith('image/'))
          .length,
        error: false,
      }
    case 'error-text':
      return { text: output.value, images: 0, error: true }
    case 'error-json':
      return { text: JSON.stringify(output.value), images: 0, error: true }
    default:
      throw new Error(`unexpected tool output ${JSON.stringify(output)}`)
  }
}

export function langchainInvoker(session: SandboxSession, options: SandboxToolsOptions = {}): RawInvoke {
  const tools = langchainTools(session, options)
  return async (name, input) => {
    const tool = tools.find((t) => t.name === name)
    if (!tool) throw new Error(`no tool ${name}`)
    const message = await tool.invoke({ type: 'tool_call', id: nextId(), name, args: input as any })
    if (!ToolMessage.isInstance(message)) throw new Error(`expected a ToolMessage, got ${String(message)}`)
    const blocks = typeof message.content === 'string' ? [] : (message.content as any[])
    return {
      text:
        typeof message.content === 'string'
          ? message.content
          : blocks
              .filter((b) => b.type === 'text')
              .map((b) => b.text)
              .join('\n'),
      images: blocks.filter((b) => b.type === 'image').length,
      error: message.status === 'error',
    }
  }
}

export function invokerFor(
  adapter: AdapterName,
  session: SandboxSession,
  options: SandboxToolsOptions = {},
): RawInvoke {
  switch (adapter) {
    case 'neutral':
      return neutralInvoker(session, options)
    case 'openai':
      return openaiInvoker(session, options)
    case 'ai':
      return aiInvoker(session, options)
    case 'langchain':
      return langchainInvoker(session, options)
  }
}
