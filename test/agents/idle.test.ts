/**
 * The idle timeout, through the agent's own schedule and alarm: IdleCoder destroys its sandbox one
 * second after the last operation — never while a command is still running.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { getAgentByName } from 'agents'
import { describe, expect, it } from 'vitest'
import { parseIdleTimeout } from '../../adapters/agents/index.js'
import { directSandbox, newName, sandboxCalls, until } from './helpers.js'

describe('idle timeout', () => {
  it('destroys an idle sandbox from the schedule, never while a command runs', async () => {
    const name = newName('idle')
    const agent = await getAgentByName(env.IdleCoder, name)
    expect((await agent.peek()).status).toBe('not-started')
    expect(await agent.idleSchedules()).toEqual([])

    // a command three times longer than the timeout: the checks that come due meanwhile re-arm
    const result = await agent.run('echo kept > kept.txt; sleep 3; echo done')
    expect(result.stdout).toBe('done\n')
    expect((await agent.peek()).status).toBe('ready')
    expect(await sandboxCalls(name)).not.toContain('destroy')
    expect((await agent.idleSchedules()).length).toBeLessThanOrEqual(1)

    // nothing runs any more: once the deadline has passed, the alarm destroys it
    await until(async () => {
      await runDurableObjectAlarm(agent)
      return (await agent.peek()).status === 'destroyed'
    }, 'the idle sandbox is destroyed')
    const { state } = await agent.peek()
    expect(state).toMatchObject({ destroyReason: 'idle', idleScheduleId: null, session: null })
    expect(await agent.idleSchedules()).toEqual([])
    expect(await sandboxCalls(name)).toContain('destroy')
    expect((await directSandbox(name).exists('/workspace/kept.txt')).exists).toBe(false)

    // used again: a fresh sandbox, and a new idle check
    expect((await agent.run('ls -A')).stdout).toBe('')
    expect((await agent.peek()).status).toBe('ready')
    expect((await agent.idleSchedules()).length).toBe(1)
  })

  it('a check that comes due early re-arms for the last use instead of destroying', async () => {
    const name = newName('idle')
    const agent = await getAgentByName(env.Coder, name) // 15 minute timeout
    await agent.run('true')
    const [check] = await agent.idleSchedules()
    // run the check now, as the schedule would once due: the sandbox was just used
    await runInDurableObject(agent, (instance) => instance.sandboxIdleCheck(undefined, { id: check!.id }))
    await runInDurableObject(agent, (instance) => instance.cancelSchedule(check!.id))
    const [rearmed, ...more] = await agent.idleSchedules()
    expect(more).toEqual([])
    expect(rearmed!.id).not.toBe(check!.id)
    expect((await agent.state_()).idleScheduleId).toBe(rearmed!.id)
    expect((await agent.peek()).status).toBe('ready')
    expect(await sandboxCalls(name)).not.toContain('destroy')
  })

  it('parses the timeout', () => {
    expect(parseIdleTimeout(undefined)).toBe(15 * 60_000)
    expect(parseIdleTimeout(false)).toBeUndefined()
    expect(parseIdleTimeout(90)).toBe(90_000)
    expect(parseIdleTimeout('500ms')).toBe(500)
    expect(parseIdleTimeout('30s')).toBe(30_000)
    expect(parseIdleTimeout('15m')).toBe(900_000)
    expect(parseIdleTimeout('2h')).toBe(7_200_000)
    expect(() => parseIdleTimeout('soon')).toThrow(/idleTimeout/)
    expect(() => parseIdleTimeout(0)).toThrow(/idleTimeout/)
  })
})
