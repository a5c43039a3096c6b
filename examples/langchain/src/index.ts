/**
 * A coding agent on LangChain (`createAgent`) with a Cloudflare Sandbox as its computer.
 *
 *   POST /api/run { task, sessionId? }  → the run as NDJSON: tool calls, their results, the answer
 *   DELETE /api/session/<id>            → destroy that session's sandbox
 *   GET /api/health
 *
 * The agent gets `sandboxTools(session)`, LangChain tools (shell, files, patches, code, processes,
 * ports) whose results the model reads as content (charts as image blocks) while the structured
 * result stays on the ToolMessage's artifact; a failed call comes back as an error ToolMessage with
 * the reason. One sandbox per session id; a run without one gets a sandbox of its own, destroyed when
 * the run ends. The routes and that lifecycle are ../../shared/worker.ts; this file is LangChain's
 * part: the agent and its steps as events.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a test
 * fixture), `OPENAI_MODEL` (default gpt-5.1). Any LangChain chat model with tool calling works: swap
 * `model`.
 */
import { getSandbox } from '@cloudflare/sandbox'
import { AIMessage, type BaseMessage, type ContentBlock, ToolMessage } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import { createAgent } from 'langchain'
import { sandboxTools } from 'sandbox-agent-tools/langchain'
import type { EventImage } from '../../shared/events.js'
import { INSTRUCTIONS, SANDBOX_OPTIONS, sandboxExampleWorker } from '../../shared/worker.js'

export { Sandbox } from '@cloudflare/sandbox'
// The stand-in for `Sandbox` in the `local` environment (wrangler.jsonc): no containers, no Docker.
export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'

export default sandboxExampleWorker({
  name: 'langchain',
  sandbox: (env, id) => getSandbox(env.Sandbox, id, SANDBOX_OPTIONS),
  /** The agent graph on the session's sandbox, its steps streamed as events; returns the final answer. */
  async run(session, task, emit, env, signal) {
    const agent = createAgent({
      model: new ChatOpenAI({
        model: env.OPENAI_MODEL || 'gpt-5.1',
        apiKey: env.OPENAI_API_KEY,
        ...(env.OPENAI_BASE_URL ? { configuration: { baseURL: env.OPENAI_BASE_URL } } : {}),
        useResponsesApi: true, // images in tool results (run_code charts) need the Responses API
      }),
      tools: sandboxTools(session),
      systemPrompt: INSTRUCTIONS,
    })
    const stream = await agent.stream(
      { messages: [{ role: 'user', content: task }] },
      { streamMode: 'updates', recursionLimit: 60, signal },
    )
    let answer = ''
    // One chunk per finished graph step:
    // { model_request: { messages: [AIMessage] } }, { tools: { messages: [ToolMessage…] } }
    for await (const chunk of stream) {
      for (const message of messagesIn(chunk)) {
        if (AIMessage.isInstance(message)) {
          const text = message.text
          if (text) emit({ type: 'text', text })
          for (const call of message.tool_calls ?? []) {
            emit({ type: 'tool-call', id: call.id ?? '', name: call.name, input: call.args })
          }
          if (!message.tool_calls?.length) answer = text
        } else if (ToolMessage.isInstance(message)) {
          const { text, images } = contentOf(message.content)
          emit({
            type: 'tool-result',
            id: message.tool_call_id,
            name: message.name ?? '',
            text,
            ...(images.length ? { images } : {}),
            ...(message.status === 'error' ? { isError: true as const } : {}),
          })
        }
      }
    }
    return answer
  },
})

/** The messages a graph step added (an update per node, or a list of them). */
function messagesIn(chunk: Record<string, unknown>): BaseMessage[] {
  const messages: BaseMessage[] = []
  for (const update of Object.values(chunk)) {
    for (const part of Array.isArray(update) ? update : [update]) {
      const added = (part as { messages?: unknown } | null)?.messages
      if (Array.isArray(added)) messages.push(...(added as BaseMessage[]))
    }
  }
  return messages
}

/** A ToolMessage's content (a string, or text and image blocks) as text plus base64 images. */
function contentOf(content: string | Array<ContentBlock | Record<string, any>>): {
  text: string
  images: EventImage[]
} {
  if (typeof content === 'string') return { text: content, images: [] }
  const texts: string[] = []
  const images: EventImage[] = []
  for (const block of content as Array<Record<string, any>>) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text)
    else if (block.type === 'image' && typeof block.data === 'string') {
      images.push({ mediaType: block.mimeType ?? block.mime_type ?? 'image/png', data: block.data })
    }
  }
  return { text: texts.join('\n'), images }
}
