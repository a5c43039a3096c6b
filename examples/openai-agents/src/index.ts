/**
 * A coding agent on the OpenAI Agents SDK with a Cloudflare Sandbox as its computer.
 *
 *   POST /api/run { task, sessionId? }  → the run as NDJSON: tool calls, their results, the answer
 *   DELETE /api/session/<id>            → destroy that session's sandbox
 *   GET /api/health
 *
 * The agent gets `sandboxTools(session)`: the Responses API's own `shell` and `apply_patch` tools,
 * backed by the sandbox, plus function tools for files, code, processes and ports. One sandbox per
 * session id; a run without one gets a sandbox of its own, destroyed when the run ends. The routes and
 * that lifecycle are ../../shared/worker.ts; this file is the SDK's part: the agent and its run as events.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a
 * test fixture), `OPENAI_MODEL` (default gpt-5.1; the native shell tool needs gpt-5.1 or later).
 */
import { getSandbox } from '@cloudflare/sandbox'
import { Agent, OpenAIProvider, type RunItem, Runner } from '@openai/agents'
import { sandboxTools } from 'sandbox-agent-tools/openai'
import type { Emit, EventImage } from '../../shared/events.js'
import { INSTRUCTIONS, SANDBOX_OPTIONS, sandboxExampleWorker } from '../../shared/worker.js'

export { Sandbox } from '@cloudflare/sandbox'
// The stand-in for `Sandbox` in the `local` environment (wrangler.jsonc): no containers, no Docker.
export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'

export default sandboxExampleWorker({
  name: 'openai-agents',
  sandbox: (env, id) => getSandbox(env.Sandbox, id, SANDBOX_OPTIONS),
  /** The agent on the session's sandbox, its run streamed as events; returns the final answer. */
  async run(session, task, emit, env, signal) {
    const agent = new Agent({
      name: 'coder',
      model: env.OPENAI_MODEL || 'gpt-5.1',
      instructions: INSTRUCTIONS,
      tools: sandboxTools(session),
    })
    const runner = new Runner({
      modelProvider: new OpenAIProvider({
        apiKey: env.OPENAI_API_KEY,
        ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
        useResponses: true,
      }),
      // Traces would go to api.openai.com from inside the Worker; turn them on deliberately if you want them.
      tracingDisabled: true,
    })
    const result = await runner.run(agent, task, { stream: true, signal, maxTurns: 30 })
    for await (const event of result) {
      if (event.type === 'run_item_stream_event') emitItem(event.name, event.item, emit)
    }
    await result.completed
    if (result.error) throw result.error
    return String(result.finalOutput ?? '')
  },
})

/** One run item as contract events: tool calls, their results as the model got them, assistant messages. */
function emitItem(name: string, item: RunItem, emit: Emit): void {
  if (name === 'tool_called' && item.type === 'tool_call_item') {
    const raw = item.rawItem as Record<string, any>
    const id = String(raw.callId ?? raw.id ?? '')
    if (raw.type === 'function_call') {
      emit({ type: 'tool-call', id, name: raw.name, input: parseJson(raw.arguments) })
    } else if (raw.type === 'shell_call') {
      emit({ type: 'tool-call', id, name: 'shell', input: raw.action })
    } else if (raw.type === 'apply_patch_call') {
      emit({ type: 'tool-call', id, name: 'apply_patch', input: raw.operation })
    } else {
      emit({ type: 'tool-call', id, name: String(raw.name ?? raw.type), input: raw })
    }
  } else if (name === 'tool_output' && item.type === 'tool_call_output_item') {
    const raw = item.rawItem as Record<string, any>
    const id = String(raw.callId ?? raw.id ?? '')
    if (raw.type === 'shell_call_output') {
      emit({ type: 'tool-result', id, name: 'shell', text: shellText(raw.output) })
    } else if (raw.type === 'apply_patch_call_output') {
      const failed = raw.status === 'failed'
      emit({
        type: 'tool-result',
        id,
        name: 'apply_patch',
        text: String(raw.output ?? raw.status),
        ...(failed ? { isError: true as const } : {}),
      })
    } else {
      const { text, images } = contentOf(item.output ?? raw.output)
      emit({
        type: 'tool-result',
        id,
        name: String(raw.name ?? raw.type),
        text,
        ...(images.length ? { images } : {}),
      })
    }
  } else if (name === 'message_output_created' && item.type === 'message_output_item') {
    const text = item.rawItem.content
      .map((part) => (part.type === 'output_text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
      .join('')
    if (text) emit({ type: 'text', text })
  }
}

/** The shell tool's result as text: per command, its output and how it ended. */
function shellText(output: Array<{ stdout: string; stderr: string; outcome: any }> = []): string {
  return output
    .map(({ stdout, stderr, outcome }) => {
      const end =
        outcome?.type === 'timeout' ? '[timed out]' : `[exit code: ${outcome?.exitCode ?? 'unknown'}]`
      return [stdout, stderr]
        .filter(Boolean)
        .map((text) => text.replace(/\n$/, ''))
        .concat(end)
        .join('\n')
    })
    .join('\n')
}

/** A function tool's output (a string, or text and image parts) as text plus base64 images. */
function contentOf(output: unknown): { text: string; images: EventImage[] } {
  if (typeof output === 'string') return { text: output, images: [] }
  const parts = Array.isArray(output) ? output : [output]
  const texts: string[] = []
  const images: EventImage[] = []
  for (const part of parts as Array<Record<string, any>>) {
    if (part?.type === 'text' || part?.type === 'input_text') texts.push(String(part.text))
    else if (part?.type === 'image' && typeof part.image?.data === 'string') {
      images.push({ mediaType: part.image.mediaType ?? 'image/png', data: part.image.data })
    } else if (part?.type === 'input_image' && typeof part.image === 'string') {
      const match = /^data:([^;]+);base64,(.*)$/s.exec(part.image)
      if (match) images.push({ mediaType: match[1]!, data: match[2]! })
    }
  }
  return { text: texts.join('\n'), images }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
