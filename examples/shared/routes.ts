/**
 * The routes of the HTTP contract (./events.ts), the same in every example Worker: preview URLs
 * first, then `GET /api/health`, `DELETE /api/session/<id>` and `POST /api/run` with the id and the
 * body checked. What a run and a DELETE do is the example's: ./worker.ts gives the Workers that take
 * a session per id their lifecycle; the Cloudflare Agents example hands both to its agent.
 *
 * No `sandbox-agent-tools` import here: the agents example resolves only the adapters it uses.
 */
import { proxyToSandbox, type Sandbox } from '@cloudflare/sandbox'
import { badRequest, health, isSessionId, newSessionId, type RunRequest, readRunRequest } from './events.js'

/** The bindings and variables every example reads (see wrangler.jsonc). */
export interface ExampleEnv {
  Sandbox: DurableObjectNamespace<Sandbox>
  OPENAI_API_KEY?: string
  OPENAI_BASE_URL?: string
  OPENAI_MODEL?: string
  /** The custom domain preview URLs live on (expose_port); see the README. */
  PREVIEW_HOSTNAME?: string
}

/** What every example asks of its model. */
export const INSTRUCTIONS = `You are a careful software engineer. You work in a Linux sandbox; your workspace is /workspace.
Use the tools to inspect, write, run and fix code. Run what you write. Keep your final answer short.`

/** A 500 when the Worker cannot call the model, before a run starts; undefined when it can. */
export function notConfigured(env: ExampleEnv): Response | undefined {
  return env.OPENAI_API_KEY ? undefined : badRequest('OPENAI_API_KEY is not set', 500)
}

export interface ExampleRoutes<E extends ExampleEnv> {
  /** The name `GET /api/health` answers with. */
  name: string
  /** `POST /api/run` with a valid body. `id` is its session id, or a fresh `run-<uuid>` for a one-off run. */
  run: (body: RunRequest, id: string, env: E, request: Request) => Response | Promise<Response>
  /** `DELETE /api/session/<id>` with a valid (lowercased) id. */
  deleteSession: (id: string, env: E, request: Request) => Promise<Response>
  /** Any other request; without an answer (or without this), a 404. */
  otherwise?: (request: Request, env: E) => Promise<Response | null | undefined>
}

/** The Worker's `fetch`. Its own type, not `ExportedHandler`: there `fetch` is optional. */
export interface ExampleWorker<E> {
  fetch(request: Request, env: E): Promise<Response>
}

export function exampleRoutes<E extends ExampleEnv>(routes: ExampleRoutes<E>): ExampleWorker<E> {
  return {
    async fetch(request, env) {
      // Preview URLs of servers in a sandbox (expose_port) are served through this Worker.
      const preview = await proxyToSandbox(request, env)
      if (preview) return preview

      const url = new URL(request.url)
      if (request.method === 'GET' && url.pathname === '/api/health') return health(routes.name)
      if (request.method === 'DELETE' && url.pathname.startsWith('/api/session/')) {
        const id = decodeURIComponent(url.pathname.slice('/api/session/'.length)).toLowerCase()
        if (!isSessionId(id)) return badRequest('not a session id')
        return routes.deleteSession(id, env, request)
      }
      if (request.method === 'POST' && url.pathname === '/api/run') {
        const body = await readRunRequest(request)
        if (body instanceof Response) return body
        return routes.run(body, body.sessionId ?? newSessionId(), env, request)
      }
      return (await routes.otherwise?.(request, env)) ?? new Response('not found', { status: 404 })
    },
  } satisfies ExportedHandler<E>
}
