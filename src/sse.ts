/**
 * Server-sent events, as `@cloudflare/sandbox` streams them (`data: <json>\n\n`). Runs on Node and
 * in workerd: no node: imports.
 */

const encoder = new TextEncoder()

/** One SSE frame carrying `value` as JSON. */
export function encodeSSE(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`)
}

/**
 * Decodes a stream of SSE frames into parsed JSON events. Frames may be split across chunks
 * anywhere. Multi-line `data:` fields are joined with '\n'; comments, other fields and frames
 * whose data is not JSON are skipped. Aborting `signal` cancels the stream and throws.
 */
export async function* parseSSEStream<T>(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    while (true) {
      if (signal?.aborted) throw abortError(signal)
      const { value, done } = await reader.read()
      if (signal?.aborted) throw abortError(signal)
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let end = frameEnd(buffer)
      while (end) {
        const frame = buffer.slice(0, end.index)
        buffer = buffer.slice(end.index + end.length)
        const event = parseFrame<T>(frame)
        if (event !== undefined) yield event
        end = frameEnd(buffer)
      }
    }
    buffer += decoder.decode()
    const last = parseFrame<T>(buffer)
    if (last !== undefined) yield last
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.releaseLock()
  }
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('The stream was aborted', 'AbortError')
}

function frameEnd(buffer: string): { index: number; length: number } | undefined {
  const match = /\r?\n\r?\n/.exec(buffer)
  return match ? { index: match.index, length: match[0].length } : undefined
}

function parseFrame<T>(frame: string): T | undefined {
  const data: string[] = []
  for (const line of frame.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5))
  }
  if (data.length === 0) return undefined
  try {
    return JSON.parse(data.join('\n')) as T
  } catch {
    return undefined // not JSON: a keep-alive or a foreign frame, as the SDK's parser skips it
  }
}
