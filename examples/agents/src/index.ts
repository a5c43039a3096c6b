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
 * session id gets a fresh agent whose sandbox is destroyed when the run ends. The routes in front of
 * the agents are the other examples' (../../shared/routes.ts); runs and DELETEs go to the agent.
 *
 * Configuration: `OPENAI_API_KEY` (secret), `OPENAI_BASE_URL` (optional: AI Gateway, a proxy, a test
 * fixture), `OPENAI_MODEL` (default gpt-5.1). Any AI SDK provider works the same way: swap `model`.
 */
import { createOpenAI } from '@ai-sdk/openai'
import { Agent, routeAgentRequest } from 'agents'
import { isStepCount, streamText } from 'ai'
import { withSandbox } from 'sandbox-agent-tools/agents'
import { type SandboxToolOutput, sandboxTools } from 'sandbox-agent-tools/ai'
import { type Emit, errorMessage, readRunRequest, streamEvents } from '../../shared/events.js'
import { type ExampleEnv, exampleRoutes, INSTRUCTIONS, notConfigured } from '../../shared/routes.js'

export { Sandbox } from '@cloudflare/sandbox'
// The stand-in for `Sandbox` in the `local` environment (wrangler.jsonc): no containers, no Docker.
export { LocalSandboxDO } from 'sandbox-agent-tools/local/worker'

export interface Env extends ExampleEnv {
  Coder: DurableObjectNamespace<Coder>
}

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
    const refused = notConfigured(this.env)
    if (refused) return refused
    return streamEvents(async (emit, signal) => {
      try {
        emit({ type: 'done', text: await this.run(body.task, emit, signal) })
      } finally {
        // a run without a session is one-off: its sandbox goes with it
        if (!body.sessionId) await this.destroySandbox()
      }
    })
  }

  /** The AI SDK loop on this agent's sandbox, streamed as events; returns the final answer. */
  async run(task: string, emit: Emit, signal: AbortSignal): Promise<string> {
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
    return result.text
  }
}

export default exampleRoutes<Env>({
  name: 'agents',
  async run(body, id, env, request) {
    const response = await toAgent(request, env, id, { method: 'POST', body: JSON.stringify(body) })
    const headers = new Headers(response.headers)
    headers.set('x-session-id', id)
    return new Response(response.body, { status: response.status, headers })
  },
  deleteSession: (id, env, request) => toAgent(request, env, id, { method: 'DELETE' }),
  // The agents themselves: /agents/coder/<id>
  otherwise: (request, env) => routeAgentRequest(request, env),
})

/** A request to the session's agent, through the Agents router (/agents/coder/<id>). */
async function toAgent(request: Request, env: Env, id: string, init: RequestInit): Promise<Response> {
  const url = new URL(`/agents/coder/${id}`, request.url)
  const response = await routeAgentRequest(
    new Request(url, { ...init, headers: { 'content-type': 'application/json' } }),
    env,
  )
  return response ?? new Response('no agent', { status: 500 })
}
