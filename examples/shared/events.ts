/**
 * The HTTP contract every example Worker speaks, and the tiny NDJSON writer behind it. No framework
 * code lives here: each example maps its own framework's stream onto these events.
 *
 *   POST /api/run   { "task": string, "sessionId"?: string }
 *     → 200 application/x-ndjson, one event per line as it happens (header `x-session-id`):
 *       {"type":"tool-call","id","name","input"}
 *       {"type":"tool-result","id","name","text","images"?:[{"mediaType","data"}],"isError"?:true}
 *       {"type":"text","text"}          an assistant message
 *       {"type":"done","text"}          the final answer (last event of a run that finished)
 *       {"type":"error","message"}      the run failed (last event)
 *     → 400 { "error" } for a bad request, 500 { "error" } when the Worker is not configured.
 *   DELETE /api/session/<id>   → 204, destroys that session's sandbox
 *   GET /api/health            → { "ok": true, "example": "<name>" }
 *
 * Without a `sessionId` a run gets a fresh sandbox that is destroyed when the run ends. With one,
 * the session's sandbox is kept for the next run with the same id (until `DELETE /api/session/<id>`,
 * or until it goes idle).
 */

/** An image a tool returned (base64), e.g. a run_code chart. */
export interface EventImage {
  mediaType: string
  data: string
}

export type RunEvent =
  | { type: 'tool-call'; id: string; name: string; input: unknown }
  | { type: 'tool-result'; id: string; name: string; text: string; images?: EventImage[]; isError?: true }
  | { type: 'text'; text: string }
  | { type: 'done'; text: string }
  | { type: 'error'; message: string }

export interface RunRequest {
  task: string
  /** Present when the client asked for a session (its sandbox outlives the run). */
  sessionId?: string
}

/** Sends one event; a no-op once the client has gone away. */
export type Emit = (event: RunEvent) => void

/** A session id is also the sandbox id: lowercase letters, digits and dashes, 1–63 characters. */
const SESSION_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function isSessionId(id: string): boolean {
  return SESSION_ID.test(id)
}

/** A fresh id for a one-off run. */
export function newSessionId(): string {
  return `run-${crypto.randomUUID()}`
}

/** Reads `{ task, sessionId? }`; a bad request becomes a 400 response to return as is. */
export async function readRunRequest(request: Request): Promise<RunRequest | Response> {
  let body: unknown
  try {
    body = await request.json()
  } catch {
    return badRequest('the body must be JSON: { "task": string, "sessionId"?: string }')
  }
  const { task, sessionId } = (body ?? {}) as Record<string, unknown>
  if (typeof task !== 'string' || task.trim() === '') return badRequest('"task" must be a non-empty string')
  if (sessionId === undefined || sessionId === null) return { task }
  if (typeof sessionId !== 'string' || !isSessionId(sessionId.toLowerCase())) {
    return badRequest(
      '"sessionId" must be 1-63 letters, digits or dashes, starting and ending with a letter or digit',
    )
  }
  return { task, sessionId: sessionId.toLowerCase() }
}

export function badRequest(message: string, status = 400): Response {
  return Response.json({ error: message }, { status })
}

export function health(example: string): Response {
  return Response.json({ ok: true, example })
}

/**
 * Streams a run as NDJSON. `run` gets `emit` and a signal that aborts when the client disconnects;
 * it should end with a `done` event. If it throws, an `error` event is sent. The response ends when
 * `run` has returned (so whatever it cleans up on the way out — the sandbox — is gone by then).
 */
export function streamEvents(
  run: (emit: Emit, signal: AbortSignal) => Promise<void>,
  headers: Record<string, string> = {},
): Response {
  const encoder = new TextEncoder()
  const abort = new AbortController()
  let open = true
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const emit: Emit = (event) => {
        if (!open) return
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`))
        } catch {
          open = false
        }
      }
      run(emit, abort.signal)
        .catch((error: unknown) => {
          const message = errorMessage(error)
          console.error(`run failed: ${message}`)
          emit({ type: 'error', message })
        })
        .finally(() => {
          if (!open) return
          open = false
          controller.close()
        })
    },
    cancel(reason) {
      open = false
      abort.abort(reason)
    },
  })
  return new Response(stream, {
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', ...headers },
  })
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
