/**
 * `serveLocalSandbox()`: local sandboxes over HTTP on 127.0.0.1, for Workers that cannot run
 * containers (`wrangler dev` without Docker, the workerd test pool) — `LocalSandboxDO` forwards
 * to it — and for any other process (`remoteSandbox(url, token, id)`). Node only.
 *
 * Every request needs `Authorization: Bearer <token>`. The routes (one per SandboxBackend
 * method, streaming where the sandbox streams) are described in ./client.ts, which holds the
 * protocol both sides use.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ExecResult, SandboxBackend } from '../backend.js'
import { encodeSSE } from '../sse.js'
import {
  type ExecFrame,
  type LogEvent,
  MAX_JSON_BODY_BYTES,
  PROTOCOL_VERSION,
  REMOTE_METHODS,
  type RemoteMethod,
  toWireError,
  type WireError,
} from './client.js'
import { LocalSandboxError } from './errors.js'
import { type LocalSandbox, type LocalSandboxOptions, localSandbox } from './sandbox.js'

/** The only address the server listens on. */
export const LOOPBACK = '127.0.0.1'

export interface ServeLocalSandboxOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** Only '127.0.0.1' is accepted: the server never listens on another interface. */
  host?: string
  /** Shared secret every request must send as `Authorization: Bearer <token>`. Default: random. */
  token?: string
  /**
   * Options of every sandbox the server creates. `root`, if set, is the parent folder: each
   * sandbox gets its own sub-folder named after its id.
   */
  sandboxOptions?: LocalSandboxOptions
}

export interface LocalSandboxServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  token: string
  port: number
  /** The bound address, as `net.Server#address()` reports it: always 127.0.0.1. */
  address(): AddressInfo
  /** Stops listening, destroys every sandbox created through the server, closes connections. */
  close(): Promise<void>
}

const MAX_ID_LENGTH = 256
const methods = new Set<string>(REMOTE_METHODS)
/** Poll interval of the emulated `streamProcessLogs`. */
const LOG_POLL_MS = 100

/**
 * Starts the loopback sandbox server. Resolves once it listens:
 *
 *   const server = await serveLocalSandbox({ port: 0 })
 *   const sandbox = remoteSandbox(server.url, server.token, 'dev')
 */
export async function serveLocalSandbox(options: ServeLocalSandboxOptions = {}): Promise<LocalSandboxServer> {
  if (options.host !== undefined && options.host !== LOOPBACK) {
    throw new Error(
      `serveLocalSandbox only listens on ${LOOPBACK}; refusing host ${JSON.stringify(options.host)} (the server runs commands on this machine)`,
    )
  }
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serveLocalSandbox: invalid port ${port}`)
  }
  if (options.token !== undefined && options.token.length < 8) {
    throw new Error('serveLocalSandbox: the token must be at least 8 characters long')
  }
  const token = options.token ?? randomBytes(24).toString('base64url')
  const expected = digest(token)
  const created = new Set<LocalSandbox>()
  const { root, ...sandboxOptions } = options.sandboxOptions ?? {}

  const sandboxOf = (id: string): LocalSandbox => {
    const sandbox = localSandbox(
      id,
      root === undefined ? sandboxOptions : { ...sandboxOptions, root: join(root, folderName(id)) },
    )
    created.add(sandbox)
    return sandbox
  }

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      req.resume() // a body left unread (e.g. an upload refused early) must not stall the answer
      sendError(res, error)
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req.headers.authorization, expected)) {
      req.resume()
      res.setHeader('www-authenticate', 'Bearer')
      return sendError(
        res,
        wireError('UNAUTHORIZED', 401, 'Missing or wrong bearer token for the local sandbox server'),
      )
    }
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`)
    if (url.pathname === '/' && req.method === 'GET') {
      return sendJson(res, 200, { name: 'sandbox-agent-tools', protocol: PROTOCOL_VERSION })
    }
    const route = /^\/sandbox\/([^/]+)\/(?:call\/([^/]+)|(file))$/.exec(url.pathname)
    const id = route && decode(route[1]!)
    if (!route || !id || id.length > MAX_ID_LENGTH) {
      req.resume()
      return sendError(res, wireError('NOT_FOUND', 404, `No route ${req.method} ${url.pathname}`))
    }
    if (route[3]) {
      if (req.method !== 'PUT') return methodNotAllowed(req, res, 'PUT')
      const path = url.searchParams.get('path')
      if (!path) {
        req.resume()
        return sendError(res, wireError('VALIDATION_FAILED', 400, 'PUT …/file needs a ?path='))
      }
      const encoding = url.searchParams.get('encoding') ?? undefined
      const body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>
      const result = await sandboxOf(id).writeFile(path, body, encoding ? { encoding } : {})
      return sendJson(res, 200, { result })
    }
    const method = decode(route[2]!)
    if (!method || !methods.has(method)) {
      req.resume()
      return sendError(res, wireError('NOT_FOUND', 404, `Unknown sandbox method ${JSON.stringify(method)}`))
    }
    if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST')
    const { args, abortable } = await readCall(req)
    // the client went away: abort what it asked to be abortable
    const abort = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('the client disconnected'))
    })
    const signal = abortable ? abort.signal : undefined
    const sandbox = sandboxOf(id)
    await dispatch(sandbox, method as RemoteMethod, args, signal, res)
    if (method === 'destroy') created.delete(sandbox)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://${LOOPBACK}:${address.port}`,
    token,
    port: address.port,
    address: () => server.address() as AddressInfo,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await Promise.allSettled([...created].map((sandbox) => sandbox.destroy()))
        created.clear()
        server.closeAllConnections()
        await stopped
      })()
      return closing
    },
  }
}

/** Runs one call and writes its answer: JSON, or SSE for the streaming methods. */
async function dispatch(
  sandbox: SandboxBackend,
  method: RemoteMethod,
  args: unknown[],
  signal: AbortSignal | undefined,
  res: ServerResponse,
): Promise<void> {
  switch (method) {
    case 'exec': {
      const [command, options = {}] = args as [string, Record<string, unknown> | undefined]
      // `onOutput: true` marks the client's callback (functions do not cross the wire)
      if (options.stream && options.onOutput === true) {
        return execWithOutput(sandbox, command, { ...options, onOutput: undefined, signal }, res)
      }
      return sendJson(res, 200, { result: await sandbox.exec(command, { ...options, signal }) })
    }
    case 'execStream': {
      const [command, options = {}] = args as [string, Record<string, unknown> | undefined]
      return pipeStream(await sandbox.execStream(command, { ...options, signal }), res)
    }
    case 'runCode': {
      const [code, options = {}] = args as [string, Record<string, unknown> | undefined]
      return sendJson(res, 200, { result: await sandbox.runCode(code, { ...options, signal }) })
    }
    case 'streamProcessLogs':
      return pipeStream(await processLogStream(sandbox, String(args[0])), res)
    default: {
      const fn = (sandbox as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!
      const result = await fn.apply(sandbox, args)
      return sendJson(res, 200, { result: result ?? null })
    }
  }
}

/** `exec` with live output: SSE frames of output, then the result (or the error). */
async function execWithOutput(
  sandbox: SandboxBackend,
  command: string,
  options: Record<string, unknown>,
  res: ServerResponse,
): Promise<void> {
  startEventStream(res)
  const send = (frame: ExecFrame) => {
    if (!res.writableEnded && !res.destroyed) res.write(encodeSSE(frame))
  }
  try {
    const result: ExecResult = await sandbox.exec(command, {
      ...options,
      stream: true,
      onOutput: (stream, data) => send({ type: 'output', stream, data }),
    })
    send({ type: 'result', result })
  } catch (error) {
    send({ type: 'error', error: wireOf(error) })
  }
  res.end()
}

/** Writes a byte stream as the SSE response, with backpressure; a client that leaves cancels it. */
async function pipeStream(stream: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  startEventStream(res)
  const reader = stream.getReader()
  const onClose = () => void reader.cancel(new Error('the client disconnected')).catch(() => {})
  res.on('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (res.destroyed) return
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go)
            res.off('close', go)
            resolve()
          }
          res.on('drain', go)
          res.on('close', go)
        })
      }
    }
    res.end()
  } catch (error) {
    // the sandbox stream failed mid-way: say so in the stream, then end it
    if (!res.destroyed)
      res.end(encodeSSE({ type: 'error', timestamp: new Date().toISOString(), error: String(error) }))
  } finally {
    res.off('close', onClose)
  }
}

/**
 * The container's `streamProcessLogs` over any SandboxBackend: the logs so far, new output as it
 * comes (polled), then `exit` with the exit code. Cancelling the stream stops the polling.
 */
async function processLogStream(
  sandbox: SandboxBackend,
  processId: string,
): Promise<ReadableStream<Uint8Array>> {
  const own = (sandbox as { streamProcessLogs?: (id: string) => Promise<ReadableStream<Uint8Array>> })
    .streamProcessLogs
  if (typeof own === 'function') return own.call(sandbox, processId)
  await sandbox.getProcessLogs(processId) // PROCESS_NOT_FOUND before the stream starts
  let sent = { stdout: 0, stderr: 0 }
  let cancelled = false
  const event = (type: LogEvent['type'], data: string, exitCode?: number): Uint8Array =>
    encodeSSE({
      type,
      data,
      processId,
      timestamp: new Date().toISOString(),
      ...(exitCode !== undefined && { exitCode }),
    })
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (cancelled) return
        try {
          const info = await sandbox.getProcess(processId)
          const logs = await sandbox.getProcessLogs(processId)
          let wrote = false
          for (const stream of ['stdout', 'stderr'] as const) {
            const fresh = logs[stream].slice(sent[stream])
            if (fresh) {
              controller.enqueue(event(stream, fresh))
              wrote = true
            }
          }
          sent = { stdout: logs.stdout.length, stderr: logs.stderr.length }
          if (!info || info.exitCode !== undefined) {
            controller.enqueue(event('exit', '', info?.exitCode))
            controller.close()
            return
          }
          if (wrote) return
        } catch (error) {
          controller.enqueue(event('error', error instanceof Error ? error.message : String(error)))
          controller.close()
          return
        }
        await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS))
      }
    },
    cancel() {
      cancelled = true
    },
  })
}

function startEventStream(res: ServerResponse) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  })
  res.flushHeaders()
}

async function readCall(req: IncomingMessage): Promise<{ args: unknown[]; abortable: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  // past the cap, keep reading (and dropping) the body so the client gets the 413, not a reset
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_JSON_BODY_BYTES) chunks.push(chunk)
  }
  if (size > MAX_JSON_BODY_BYTES) {
    throw wireError(
      'REQUEST_TOO_LARGE',
      413,
      `Request body over ${MAX_JSON_BODY_BYTES} bytes; write big files with a ReadableStream body`,
    )
  }
  let body: { args?: unknown; abortable?: unknown }
  try {
    body = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw wireError('VALIDATION_FAILED', 400, 'The request body is not JSON')
  }
  if (body.args !== undefined && !Array.isArray(body.args)) {
    throw wireError('VALIDATION_FAILED', 400, '`args` must be an array')
  }
  // JSON has no undefined: the client sends null for a missing argument
  const args = ((body.args as unknown[] | undefined) ?? []).map((arg) => (arg === null ? undefined : arg))
  return { args, abortable: body.abortable === true }
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '')
  return match !== null && timingSafeEqual(digest(match[1]!), expected)
}

const digest = (value: string) => createHash('sha256').update(value).digest()

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allowed: string) {
  req.resume()
  res.setHeader('allow', allowed)
  sendError(res, wireError('METHOD_NOT_ALLOWED', 405, `Use ${allowed}`))
}

/** An error the server itself raises, with the wire shape. */
function wireError(code: string, httpStatus: number, message: string): WireError & Error {
  return Object.assign(new Error(message), {
    name: 'SandboxError',
    code,
    httpStatus,
    context: {},
    timestamp: new Date().toISOString(),
  })
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  if (res.headersSent || res.destroyed) return
  const body = JSON.stringify(value)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

function sendError(res: ServerResponse, error: unknown) {
  if (res.headersSent) {
    if (!res.writableEnded) res.end()
    return
  }
  const wire = wireOf(error)
  sendJson(res, wire.httpStatus, { error: wire })
}

/** The wire form of an error; a code without an HTTP status gets the container's status for it. */
function wireOf(error: unknown): WireError {
  const wire = toWireError(error)
  if (typeof (error as { httpStatus?: unknown } | null)?.httpStatus !== 'number') {
    wire.httpStatus = new LocalSandboxError(wire.code, wire.message).httpStatus
  }
  return wire
}

/** A folder name for an id under `sandboxOptions.root`: the id when it is a safe name, else a hash. */
function folderName(id: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(id)
    ? id
    : `id-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`
}
