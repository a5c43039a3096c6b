/**
 * The Worker of an example whose framework takes a `SandboxSession` (OpenAI Agents SDK, AI SDK,
 * LangChain): the routes of ./routes.ts with one sandbox per session id. The example brings the
 * sandbox (`getSandbox`) and the run; this file brings the lifecycle:
 *
 * - a run with a `sessionId` works on that session's sandbox and leaves it for the next run with the
 *   same id (until `DELETE /api/session/<id>`, or until it goes idle);
 * - a run without one gets a fresh sandbox (`run-<uuid>`, in the `x-session-id` header) that is
 *   destroyed when the run ends — before the response does (`withSession`).
 *
 *   export default sandboxExampleWorker({
 *     name: 'my-framework',
 *     sandbox: (env, id) => getSandbox(env.Sandbox, id, SANDBOX_OPTIONS),
 *     async run(session, task, emit, env, signal) {
 *       // build the agent on sandboxTools(session), emit its tool calls, results and messages
 *       return '<the final answer>'
 *     },
 *   })
 */
import {
  createSession,
  type SandboxBackend,
  type SandboxSession,
  type SessionOptions,
  withSession,
} from 'sandbox-agent-tools'
import { type Emit, streamEvents } from './events.js'
import { type ExampleEnv, type ExampleWorker, exampleRoutes, notConfigured } from './routes.js'

// What these examples need from ./routes.ts besides the routes: one import for the example.
export { type ExampleEnv, INSTRUCTIONS } from './routes.js'

/** `enableDefaultSession: false`: the session tracks cwd and env itself; `normalizeId` for preview URLs. */
export const SANDBOX_OPTIONS = { enableDefaultSession: false, normalizeId: true }

export interface SandboxExample<E extends ExampleEnv> {
  /** The name `GET /api/health` answers with. */
  name: string
  /** The sandbox of a session id — what its runs work on and what `DELETE` destroys. */
  sandbox: (env: E, id: string) => SandboxBackend
  /**
   * Runs the task on the session, emitting tool calls, their results and assistant messages as they
   * happen; returns the final answer (sent as the `done` event). A throw becomes the `error` event.
   * `signal` aborts when the client goes away.
   */
  run: (session: SandboxSession, task: string, emit: Emit, env: E, signal: AbortSignal) => Promise<string>
}

export function sandboxExampleWorker<E extends ExampleEnv = ExampleEnv>(
  example: SandboxExample<E>,
): ExampleWorker<E> {
  return exampleRoutes<E>({
    name: example.name,
    async deleteSession(id, env) {
      await example.sandbox(env, id).destroy()
      return new Response(null, { status: 204 })
    },
    run(body, id, env) {
      const refused = notConfigured(env)
      if (refused) return refused
      const options: SessionOptions = {
        sandbox: () => example.sandbox(env, id),
        ...(env.PREVIEW_HOSTNAME ? { previewHostname: env.PREVIEW_HOSTNAME } : {}),
      }
      return streamEvents(
        async (emit, signal) => {
          const run = async (session: SandboxSession) => {
            emit({ type: 'done', text: await example.run(session, body.task, emit, env, signal) })
          }
          // A named session keeps its sandbox for its next run; a one-off run destroys its own at the end.
          if (body.sessionId) await run(createSession(options))
          else await withSession(options, run)
        },
        { 'x-session-id': id },
      )
    },
  })
}
