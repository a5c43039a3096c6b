/**
 * What every example Worker promises (examples/shared/events.ts), checked inside workerd against
 * the Worker itself (`exports.default`): the task of ./task.ts runs through the real framework and
 * the real provider client against the scripted model, the commands really run on the local
 * sandbox, the NDJSON stream carries the steps as they happen, and the workspace holds the result
 * afterwards — read back through the real `getSandbox()` on the same binding.
 */
import { env, exports } from 'cloudflare:workers'
import { getSandbox, type Sandbox } from '@cloudflare/sandbox'
import { describe, expect, it } from 'vitest'
import type { RunEvent } from '../../examples/shared/events.js'
import { ANSWER, FAILING_TASK, FIXED_OUTPUT, REFUSAL, REFUSED_STEP, STEPS, TASK } from './task.js'

const sandboxEnv = env as unknown as { Sandbox: DurableObjectNamespace<Sandbox> }

export const worker = (path: string, init?: RequestInit) =>
  exports.default.fetch(`http://example.com${path}`, init)

export function run(body: unknown): Promise<Response> {
  return worker('/api/run', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** Reads an NDJSON body line by line as it arrives. */
export async function readEvents(response: Response): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true })
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line.trim()) events.push(JSON.parse(line) as RunEvent)
      newline = buffered.indexOf('\n')
    }
  }
  expect(buffered.trim(), 'the stream ends with a complete line').toBe('')
  return events
}

export const sandboxFor = (id: string) => getSandbox(sandboxEnv.Sandbox, id, { enableDefaultSession: false })

/** Whether a path exists in the sandbox with this id (a call wakes a destroyed sandbox up empty). */
export async function exists(id: string, path: string): Promise<boolean> {
  const result = await sandboxFor(id).exec(`test -e ${path}`)
  return result.exitCode === 0
}

/**
 * The stream of a finished run of the task: every step's call and result, in order, then the answer.
 * A failed call is a tool-result with the reason, marked `isError` where the framework says so (the
 * OpenAI Agents SDK hands a function tool's error to the model as its output: no mark).
 */
export function expectTaskEvents(events: RunEvent[], example: string): void {
  const errors = events.filter((e) => e.type === 'error')
  expect(errors, 'no error events').toEqual([])
  const done = events.at(-1)
  expect(done, 'the last event is done').toEqual({ type: 'done', text: ANSWER })
  expect(events.filter((e) => e.type === 'done')).toHaveLength(1)

  const calls = events.filter((e) => e.type === 'tool-call')
  const results = events.filter((e) => e.type === 'tool-result')
  expect(calls.map((c) => c.name)).toEqual(STEPS.map((s) => s.tool))
  expect(results.map((r) => r.name)).toEqual(STEPS.map((s) => s.tool))
  for (const [i, call] of calls.entries()) {
    const result = results[i]!
    expect(call.id, `call ${i} has an id`).toBeTruthy()
    expect(result.id, `result ${i} answers call ${i}`).toBe(call.id)
    // each result follows its call, and comes before the next call
    expect(events.indexOf(result)).toBeGreaterThan(events.indexOf(call))
    if (calls[i + 1]) expect(events.indexOf(result)).toBeLessThan(events.indexOf(calls[i + 1]!))
    // the shaped text the model got — what the scripted model checked before going on
    expect(result.text).toMatch(STEPS[i]!.expect!)
    const marked = i === REFUSED_STEP && example !== 'openai-agents'
    expect(result.isError, `isError of result ${i}`).toBe(marked ? true : undefined)
  }
  expect(calls[0]!.input).toMatchObject({ path: 'app/fizzbuzz.py' })

  const chart = results.at(-1)!
  expect(chart.images).toHaveLength(1)
  expect(chart.images![0]!.mediaType).toBe('image/png')
  expect(chart.images![0]!.data.startsWith('iVBORw0KGgo')).toBe(true) // base64 of the PNG signature
  for (const result of results.slice(0, -1)) expect(result.images).toBeUndefined()

  const texts = events.filter((e) => e.type === 'text').map((e) => e.text)
  expect(texts).toContain('I will write the script first.')
  expect(texts.at(-1)).toBe(ANSWER)
  // a step's words come before its call
  expect(events.findIndex((e) => e.type === 'text' && e.text === 'Now run it.')).toBeLessThan(
    events.indexOf(calls[2]!),
  )
}

export function exampleSuite(example: string): void {
  describe(`examples/${example}`, () => {
    it('answers GET /api/health', async () => {
      const response = await worker('/api/health')
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ ok: true, example })
    })

    it('runs a multi-step task in a named session: streams the steps, keeps the workspace, DELETE destroys it', async () => {
      const sessionId = `${example}-${Date.now().toString(36)}`
      const response = await run({ task: TASK, sessionId: sessionId.toUpperCase() })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('application/x-ndjson')
      expect(response.headers.get('x-session-id')).toBe(sessionId) // ids are lowercased
      expectTaskEvents(await readEvents(response), example)

      // the workspace shows the result: the fixed script, its output, the chart
      const sandbox = sandboxFor(sessionId)
      const script = await sandbox.readFile('/workspace/app/fizzbuzz.py')
      expect(script.content).toContain('    print(fizzbuzz(i))\n')
      expect(script.content).not.toContain('fizz_buzz')
      expect((await sandbox.readFile('/workspace/app/out.txt')).content).toBe(FIXED_OUTPUT)
      expect(await exists(sessionId, '/workspace/app/chart.png')).toBe(true)

      const deleted = await worker(`/api/session/${sessionId}`, { method: 'DELETE' })
      expect(deleted.status).toBe(204)
      expect(await exists(sessionId, '/workspace/app/fizzbuzz.py')).toBe(false)
    })

    it('gives a run without a session id a sandbox of its own and destroys it when the run ends', async () => {
      const response = await run({ task: TASK })
      expect(response.status).toBe(200)
      const id = response.headers.get('x-session-id')
      expect(id).toMatch(/^run-[0-9a-f-]{36}$/)
      expectTaskEvents(await readEvents(response), example)
      expect(await exists(id!, '/workspace/app/fizzbuzz.py')).toBe(false)
      await sandboxFor(id!).destroy()
    })

    it('ends the stream with an error event when the model fails', async () => {
      const response = await run({ task: FAILING_TASK })
      expect(response.status).toBe(200)
      const events = await readEvents(response)
      expect(events.filter((e) => e.type === 'error')).toHaveLength(1)
      const last = events.at(-1)!
      expect(last.type).toBe('error')
      expect(last.type === 'error' && last.message).toContain(REFUSAL)
      expect(events.some((e) => e.type === 'done')).toBe(false)
    })

    it('refuses a request without a task, with a bad session id or that is not JSON', async () => {
      for (const body of [
        {},
        { task: '' },
        { task: 'x', sessionId: 'no spaces allowed' },
        { task: 'x', sessionId: 7 },
      ]) {
        const response = await run(body)
        expect(response.status, JSON.stringify(body)).toBe(400)
        expect(((await response.json()) as { error: string }).error).toBeTruthy()
      }
      const notJson = await worker('/api/run', { method: 'POST', body: 'task=x' })
      expect(notJson.status).toBe(400)
      expect((await worker('/api/nothing')).status).toBe(404)
    })
  })
}
