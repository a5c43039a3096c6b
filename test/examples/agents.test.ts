import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Coder } from '../../examples/agents/src/index.js'
import { exampleSuite, exists, readEvents, run, worker } from './suite.js'
import { TASK } from './task.js'

exampleSuite('agents')

const coders = (env as unknown as { Coder: DurableObjectNamespace<Coder> }).Coder

describe('examples/agents: the agent owns its sandbox', () => {
  it('keeps the sandbox and its state in the agent between runs, and destroys it on DELETE', async () => {
    const sessionId = `owned-${Date.now().toString(36)}`
    const events = await readEvents(await run({ task: TASK, sessionId }))
    expect(events.at(-1)?.type).toBe('done')

    const agent = coders.getByName(sessionId)
    const state = await runInDurableObject(agent, (coder: Coder) => coder.sandboxState)
    expect(state).toMatchObject({ status: 'ready', sandboxId: sessionId, destroyedAt: null })
    // kept in the agent's storage for after hibernation: the shell is still in app/
    expect(state.session?.cwd).toBe('/workspace/app')

    expect((await worker(`/api/session/${sessionId}`, { method: 'DELETE' })).status).toBe(204)
    const after = await runInDurableObject(agent, (coder: Coder) => coder.sandboxState)
    expect(after).toMatchObject({ status: 'destroyed', destroyReason: 'explicit' })
    expect(await exists(sessionId, '/workspace/app/fizzbuzz.py')).toBe(false)
  })

  it('routes the agent itself under /agents/coder/<id>', async () => {
    const response = await worker(`/agents/coder/direct-${Date.now().toString(36)}`, { method: 'GET' })
    expect(response.status).toBe(404) // the agent answers: only POST (run) and DELETE are its verbs
    expect(await response.text()).toBe('not found')
  })
})
