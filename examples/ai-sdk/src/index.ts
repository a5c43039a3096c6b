/**
 * A coding agent on the Vercel AI SDK (`streamText`) with a Cloudflare Sandbox as its computer.
 *
 *   POST /api/run { task, sessionId? }  → the run as NDJSON: tool calls, their results, the answer
 *   DELETE /api/session/<id>            → destroy that session's sandbox
 *   GET /api/health
 *
 * The model gets `sandboxTools(session)`, an AI SDK `ToolSet` (shell, files, patches, code, processes,
 * ports); charts and images reach it as file parts. One sandbox per session id; a run without one gets
 * a sandbox of its own, destroyed when the run ends. The routes and that lifecycle are
 * ../../shared/worker.ts; this file is the AI SDK's part: the model, its tools, its stream as events.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a test
 * fixture), `OPENAI_MODEL` (default gpt-5.1). Any AI SDK provider works the same way: swap `model`.
 */
import { createOpenAI } from '@ai-sdk/openai'
import { getSandbox } from '@cloudflare/sandbox'
import { isStepCount, streamText } from 'ai'
import { type SandboxToolOutput, sandboxTools } from 'sandbox-agent-tools/ai'
import { errorMessage } from '../../shared/events.js'
import { INSTRUCTIONS, SANDBOX_OPTIONS, sandboxExampleWorker } from '../../shared/worker.js'

export { Sandbox } from '@cloudflare/sandbox'
// The stand-in for `Sandbox` in the `local` environment (wrangler.jsonc): no containers, no Docker.
export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'

export default sandboxExampleWorker({
  name: 'ai-sdk',
  sandbox: (env, id) => getSandbox(env.Sandbox, id, SANDBOX_OPTIONS),
  /** The AI SDK loop on the session's sandbox, streamed as events; returns the final answer. */
  async run(session, task, emit, env, signal) {
    const openai = createOpenAI({
      apiKey: env.OPENAI_API_KEY,
      ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
    })
    const result = streamText({
      model: openai(env.OPENAI_MODEL || 'gpt-5.1'), // the Responses API: images in tool results work
      instructions: INSTRUCTIONS,
      prompt: task,
      tools: sandboxTools(session),
      stopWhen: isStepCount(30), // the default is one step
      abortSignal: signal,
      onError: () => {}, // the stream's error part below reports it (instead of a console dump)
    })
    const texts = new Map<string, string>()
    for await (const part of result.stream) {
      switch (part.type) {
        case 'tool-call':
          emit({ type: 'tool-call', id: part.toolCallId, name: part.toolName, input: part.input })
          break
        case 'tool-result': {
          if (part.preliminary) break // shell output so far, while the command runs
          const output = part.output as SandboxToolOutput
          emit({
            type: 'tool-result',
            id: part.toolCallId,
            name: part.toolName,
            text: output.text,
            ...(output.images?.length ? { images: output.images } : {}),
          })
          break
        }
        case 'tool-error': // the model gets the reason and carries on
          emit({
            type: 'tool-result',
            id: part.toolCallId,
            name: part.toolName,
            text: errorMessage(part.error),
            isError: true,
          })
          break
        case 'text-delta':
          texts.set(part.id, (texts.get(part.id) ?? '') + part.text)
          break
        case 'text-end': {
          const text = texts.get(part.id)
          texts.delete(part.id)
          if (text) emit({ type: 'text', text })
          break
        }
        case 'error':
          throw part.error
      }
    }
    return result.text
  },
})
