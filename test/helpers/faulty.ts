/**
 * A fault-injecting wrapper around a real backend: each method can be given a queue of faults
 * that its next calls suffer (thrown platform errors, delays, a stream dropped mid-way). Calls
 * that reach the inner backend are counted, so tests can prove a command never ran twice.
 */
import type { SandboxBackend } from '../../src/backend.js'

export type Fault =
  | 'ok'
  /** CONTAINER_UNAVAILABLE before the call reaches the sandbox (provably not started). */
  | 'unavailable'
  /** RPC_TRANSPORT_ERROR peer_closed AFTER the inner call ran (it may have had effects). */
  | 'dropped-after'
  /** The call hangs this long before going through. */
  | { delayMs: number }
  /** execStream only: the stream errors after this many bytes. */
  | { dropStreamAfterBytes: number }

export interface FaultyBackend extends SandboxBackend {
  /** How many calls of each method reached the inner backend. */
  readonly reached: Record<string, number>
  /** How many calls of each method were made (reached or not). */
  readonly attempted: Record<string, number>
  /** Queue faults for the next calls of `method`. */
  inject(method: keyof SandboxBackend, ...faults: Fault[]): void
}

export function platformError(code: string, message: string, context: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, context, httpStatus: 503 })
}

export function faulty(inner: SandboxBackend): FaultyBackend {
  const queues = new Map<string, Fault[]>()
  const reached: Record<string, number> = {}
  const attempted: Record<string, number> = {}
  const target = {
    reached,
    attempted,
    inject(method: string, ...faults: Fault[]) {
      queues.set(method, [...(queues.get(method) ?? []), ...faults])
    },
  }
  return new Proxy(target as unknown as FaultyBackend, {
    get(t, prop, receiver) {
      if (prop in t) return Reflect.get(t, prop, receiver)
      const original = (inner as unknown as Record<string | symbol, unknown>)[prop]
      if (typeof original !== 'function') return original
      const name = String(prop)
      return async (...args: unknown[]) => {
        attempted[name] = (attempted[name] ?? 0) + 1
        const fault = queues.get(name)?.shift() ?? 'ok'
        if (fault === 'unavailable') {
          throw platformError('CONTAINER_UNAVAILABLE', 'Container is starting', {
            reason: 'container_starting',
            retryAfterMs: 20,
          })
        }
        if (typeof fault === 'object' && 'delayMs' in fault)
          await new Promise((r) => setTimeout(r, fault.delayMs))
        reached[name] = (reached[name] ?? 0) + 1
        const result = await (original as (...a: unknown[]) => Promise<unknown>).apply(inner, args)
        if (fault === 'dropped-after') {
          // the call went through (a stream is read to its end, so the command has finished)
          if (result instanceof ReadableStream) await new Response(result).arrayBuffer()
          throw platformError('RPC_TRANSPORT_ERROR', 'peer closed the connection', { kind: 'peer_closed' })
        }
        if (typeof fault === 'object' && 'dropStreamAfterBytes' in fault) {
          return dropAfter(result as ReadableStream<Uint8Array>, fault.dropStreamAfterBytes)
        }
        return result
      }
    },
  })
}

function dropAfter(stream: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  let seen = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read()
      if (done) return controller.close()
      seen += value.byteLength
      if (seen > limit) {
        await reader.cancel()
        controller.error(platformError('RPC_TRANSPORT_ERROR', 'stream dropped', { kind: 'peer_closed' }))
        return
      }
      controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
