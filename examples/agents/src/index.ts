/**
 * A coding agent on Cloudflare Agents: a Durable Object per session (`Coder`) that owns its sandbox
 * through `withSandbox` and runs the AI SDK loop inside.
 *
 *   POST /api/run { task, sessionId? }  → the run as NDJSON: tool calls, their results, the answer
 *   DELETE /api/session/<id>            → the agent destroys its sandbox
 *   GET /api/health
 *   /agents/coder/<id>                  → the agent itself (`routeAgentRequest`: WebSocket clients,
 *                                         `agents/react`'s useAgent, HTTP)
 *
 * One agent per session id, and one sandbox per agent (keyed by its name). The agent owns the
 * sandbox's lifecycle: it keeps it between runs (cwd, variables and processes survive hibernation),
 * destroys it after 15 idle minutes, when the agent is destroyed, or on DELETE. A run without a
 * session id gets a fresh agent whose sandbox is destroyed when the run ends.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a test
 * fixture), `OPENAI_MODEL` (default gpt-5.1). Any AI SDK provider works the same way: swap `model`.
 */
import { createOpenAI } from '@ai-sdk/openai'
import { proxyToSandbox, type Sandbox } from '@cloudflare/sandbox'
import { Agent, routeAgentRequest } from 'agents'
import { isStepCount, streamText } from 'ai'
import { withSandbox } from 'sandbox-agent-tools/agents'
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
  Coder: DurableObjectNamespace<Coder>
  OPENAI_API_KEY?: string
  OPENAI_BASE_URL?: string
  OPENAI_MODEL?: string
  /** The custom domain preview URLs live on (expose_port); see the README. */
  PREVIEW_HOSTNAME?: string
}

const INSTRUCTIONS = `You are a careful software engineer. You work in a Linux sandbox; your workspace is /workspace.
Use the tools to inspect, write, run and fix code. Run what you write. Keep your final answer short.`

/**
 * The agent. `this.sandbox` is its session on `getSandbox(env.Sandbox, <agent name>)`, created on
 * first use (`enableDefaultSession: false`, `normalizeId: true`); the mixin keeps its state in the
 * agent's storage and destroys it when idle or with the agent.
 */
export class Coder extends withSandbox(Agent<Env>, (env: Env) => ({
  idleTimeout: '15m',
  ...(env.PREVIEW_HOSTNAME ? { previewHostname: env.PREVIEW_HOSTNAME } : {}),
})) {
  override async onRequest(request: Request): Promise<Response> {
    if (request.method === 'DELETE') {
      await this.destroySandbox()
      return new Response(null, { status: 204 })
    }
    if (request.method !== 'POST') return new Response('not found', { status: 404 })
    const body = await readRunRequest(request)
    if (body instanceof Response) return body
    if (!this.env.OPENAI_API_KEY) return badRequest('OPENAI_API_KEY is not set', 500)
    return streamEvents(async (emit, signal) => {
      try {
        await this.run(body.task, emit, signal)
      } finally {
        // a run without a session is one-off: its sandbox goes with it
        if (!body.sessionId) await this.destroySandbox()
      }
    })
  }

  /** The AI SDK loop on this agent's sandbox, streamed as events. */
  async run(task: string, emit: Emit, signal: AbortSignal): Promise<void> {
    const openai = createOpenAI({
      apiKey: this.env.OPENAI_API_KEY,
      ...(this.env.OPENAI_BASE_URL ? { baseURL: this.env.OPENAI_BASE_URL } : {}),
    })
    const result = streamText({
      model: openai(this.env.OPENAI_MODEL || 'gpt-5.1'), // the Responses API: images in tool results work
      instructions: INSTRUCTIONS,
      prompt: task,
      tools: sandboxTools(this.sandbox),
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
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // Preview URLs of servers in a sandbox (expose_port) are served through this Worker.
    const preview = await proxyToSandbox(request, env)
    if (preview) return preview

    const url = new URL(request.url)
    if (request.method === 'GET' && url.pathname === '/api/health') return health('agents')
    if (request.method === 'DELETE' && url.pathname.startsWith('/api/session/')) {
      const id = decodeURIComponent(url.pathname.slice('/api/session/'.length)).toLowerCase()
      if (!isSessionId(id)) return badRequest('not a session id')
      return toAgent(request, env, id, { method: 'DELETE' })
    }
    if (request.method === 'POST' && url.pathname === '/api/run') {
      const body = await readRunRequest(request)
      if (body instanceof Response) return body
      const id = body.sessionId ?? newSessionId()
      const response = await toAgent(request, env, id, { method: 'POST', body: JSON.stringify(body) })
      const headers = new Headers(response.headers)
      headers.set('x-session-id', id)
      return new Response(response.body, { status: response.status, headers })
    }
    // The agents themselves: /agents/coder/<id>
    return (await routeAgentRequest(request, env)) ?? new Response('not found', { status: 404 })
  },
} satisfies ExportedHandler<Env>

/** A request to the session's agent, through the Agents router (/agents/coder/<id>). */
async function toAgent(request: Request, env: Env, id: string, init: RequestInit): Promise<Response> {
  const url = new URL(`/agents/coder/${id}`, request.url)
  const response = await routeAgentRequest(
    new Request(url, { ...init, headers: { 'content-type': 'application/json' } }),
    env,
  )
  return response ?? new Response('no agent', { status: 500 })
}
