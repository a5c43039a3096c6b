/**
 * The NDJSON writer the examples share (examples/shared/events.ts): events leave as they are emitted,
 * a failed run ends with an error event, a client that goes away aborts the run.
 */
import { describe, expect, it } from 'vitest'
import { type RunEvent, readRunRequest, streamEvents } from '../../examples/shared/events.js'

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

async function nextLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<RunEvent | undefined> {
  const { value, done } = await reader.read()
  if (done) return undefined
  return JSON.parse(new TextDecoder().decode(value)) as RunEvent
}

describe('streamEvents', () => {
  it('sends each event when it is emitted, not when the run ends', async () => {
    const gate = deferred()
    let finished = false
    const response = streamEvents(async (emit) => {
      emit({ type: 'text', text: 'first' })
      await gate.promise
      emit({ type: 'done', text: 'last' })
      finished = true
    })
    expect(response.headers.get('content-type')).toBe('application/x-ndjson')
    const reader = response.body!.getReader()
    expect(await nextLine(reader)).toEqual({ type: 'text', text: 'first' })
    expect(finished).toBe(false)
    gate.resolve()
    expect(await nextLine(reader)).toEqual({ type: 'done', text: 'last' })
    expect((await reader.read()).done).toBe(true)
    expect(finished).toBe(true)
  })

  it('ends a run that throws with an error event', async () => {
    const response = streamEvents(async (emit) => {
      emit({ type: 'tool-call', id: 'c1', name: 'shell', input: { command: 'true' } })
      throw new Error('model unavailable')
    })
    const lines = new TextDecoder()
      .decode(await response.arrayBuffer())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([
      { type: 'tool-call', id: 'c1', name: 'shell', input: { command: 'true' } },
      { type: 'error', message: 'model unavailable' },
    ])
  })

  it('aborts the run when the client goes away', async () => {
    const aborted = deferred<unknown>()
    const response = streamEvents(async (emit, signal) => {
      emit({ type: 'text', text: 'working' })
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      aborted.resolve(signal.aborted)
      emit({ type: 'done', text: 'nobody hears this' }) // a no-op, not a throw
    })
    const reader = response.body!.getReader()
    await nextLine(reader)
    await reader.cancel('client left')
    expect(await aborted.promise).toBe(true)
  })
})

describe('readRunRequest', () => {
  const request = (body: unknown) =>
    new Request('http://x/api/run', { method: 'POST', body: JSON.stringify(body) })

  it('takes a task and an optional session id (lowercased)', async () => {
    expect(await readRunRequest(request({ task: 'do it' }))).toEqual({ task: 'do it' })
    expect(await readRunRequest(request({ task: 'do it', sessionId: 'User-42' }))).toEqual({
      task: 'do it',
      sessionId: 'user-42',
    })
    expect(await readRunRequest(request({ task: 'do it', sessionId: null }))).toEqual({ task: 'do it' })
  })

  it('answers a bad request with a 400 that says what is wrong', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /"task"/],
      [{ task: '   ' }, /"task"/],
      [{ task: 'x', sessionId: '-starts-with-dash' }, /"sessionId"/],
      [{ task: 'x', sessionId: 'a'.repeat(64) }, /"sessionId"/],
      ['just a string', /"task"/],
    ]
    for (const [body, message] of cases) {
      const response = await readRunRequest(request(body))
      expect(response, JSON.stringify(body)).toBeInstanceOf(Response)
      expect((response as Response).status).toBe(400)
      expect(((await (response as Response).json()) as { error: string }).error).toMatch(message)
    }
  })
})
