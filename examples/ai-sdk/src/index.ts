/**
 * A coding agent on the Vercel AI SDK (`streamText`) with a Cloudflare Sandbox as its computer.
 *
 *   POST /api/run { task, sessionId? }  → the run as NDJSON: tool calls, their results, the answer
 *   DELETE /api/session/<id>            → destroy that session's sandbox
 *   GET /api/health
 *
 * The model gets `sandboxTools(session)`, an AI SDK `ToolSet` (shell, files, patches, code, processes,
 * ports); charts and images reach it as file parts. One sandbox per session id; a run without one gets
 * a sandbox of its own, destroyed when the run ends.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a test
 * fixture), `OPENAI_MODEL` (default gpt-5.1). Any AI SDK provider works the same way: swap `model`.
 */
import { createOpenAI } from '@ai-sdk/openai'
import { getSandbox, proxyToSandbox, type Sandbox } from '@cloudflare/sandbox'
import { isStepCount, streamText } from 'ai'
import { createSession, type SandboxSession, type SessionOptions, withSession } from 'sandbox-agent-tools'
import { type SandboxToolOutput, sandboxTools } from 'sandbox-agent-tools/ai'
import {
  badRequest,
  type Emit,
  errorMessage,
  health,
  isSessionId,
  newSessionId,
  readRunRequest,
  streamEvents,
} from '../../shared/events.js'

export { Sandbox } from '@cloudflare/sandbox'
// The stand-in for `Sandbox` in the `local` environment (wrangler.jsonc): no containers, no Docker.
export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'

export interface Env {
  Sandbox: DurableObjectNamespace<Sandbox>
  OPENAI_API_KEY?: string
  OPENAI_BASE_URL?: string
  OPENAI_MODEL?: string
  /** The custom domain preview URLs live on (expose_port); see the README. */
  PREVIEW_HOSTNAME?: string
}

const INSTRUCTIONS = `You are a careful software engineer. You work in a Linux sandbox; your workspace is /workspace.
Use the tools to inspect, write, run and fix code. Run what you write. Keep your final answer short.`

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // Preview URLs of servers in a sandbox (expose_port) are served through this Worker.
    const preview = await proxyToSandbox(request, env)
    if (preview) return preview

    const url = new URL(request.url)
    if (request.method === 'GET' && url.pathname === '/api/health') return health('ai-sdk')
    if (request.method === 'DELETE' && url.pathname.startsWith('/api/session/')) {
      const id = decodeURIComponent(url.pathname.slice('/api/session/'.length)).toLowerCase()
      if (!isSessionId(id)) return badRequest('not a session id')
      await getSandbox(env.Sandbox, id, SANDBOX_OPTIONS).destroy()
      return new Response(null, { status: 204 })
    }
    if (request.method !== 'POST' || url.pathname !== '/api/run')
      return new Response('not found', { status: 404 })

    const body = await readRunRequest(request)
    if (body instanceof Response) return body
    if (!env.OPENAI_API_KEY) return badRequest('OPENAI_API_KEY is not set', 500)

    const id = body.sessionId ?? newSessionId()
    const options = sessionOptions(env, id)
    return streamEvents(
      async (emit, signal) => {
        const run = (session: SandboxSession) => runAgent(env, session, body.task, emit, signal)
        // A named session keeps its sandbox for its next run; a one-off run destroys its own at the end.
        if (body.sessionId) await run(createSession(options))
        else await withSession(options, run)
      },
      { 'x-session-id': id },
    )
  },
} satisfies ExportedHandler<Env>

/** `enableDefaultSession: false`: the session tracks cwd and env itself; `normalizeId` for preview URLs. */
const SANDBOX_OPTIONS = { enableDefaultSession: false, normalizeId: true }

function sessionOptions(env: Env, id: string): SessionOptions {
  return {
    sandbox: () => getSandbox(env.Sandbox, id, SANDBOX_OPTIONS),
    ...(env.PREVIEW_HOSTNAME ? { previewHostname: env.PREVIEW_HOSTNAME } : {}),
  }
}

async function runAgent(env: Env, session: SandboxSession, task: string, emit: Emit, signal: AbortSignal) {
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
  emit({ type: 'done', text: await result.text })
}
