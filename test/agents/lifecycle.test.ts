/**
 * withSandbox() over `Agent`, in workerd: the agents of test/agents/entry.ts with the `Sandbox`
 * binding on LocalSandboxDO, so every command really runs (on the loopback sandbox server, behind a
 * recording proxy that tells which sandbox ids were called with what).
 */
import { evictDurableObject, listDurableObjectIds, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { getAgentByName } from 'agents'
import { describe, expect, it } from 'vitest'
import { sandboxIdFor } from '../../adapters/agents/index.js'
import { destroyAgent, directSandbox, newName, sandboxCalls } from './helpers.js'

async function sandboxObjectExists(id: string): Promise<boolean> {
  const target = env.Sandbox.idFromName(id)
  return (await listDurableObjectIds(env.Sandbox)).some((existing) => existing.equals(target))
}

describe('withSandbox(Agent): lazy, one sandbox per agent name', () => {
  it('creates nothing until the first operation, then starts and reports it', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    const peek = await agent.peek()
    expect(peek).toMatchObject({ status: 'not-started', started: false })
    expect(peek.state).toMatchObject({ status: 'not-started', lastUsedAt: null, processes: [], ports: [] })
    // no getSandbox() (the Sandbox object does not exist) and no call on the sandbox server
    expect(await sandboxObjectExists(name)).toBe(false)
    expect(await sandboxCalls(name)).toEqual([])

    expect(await agent.run('echo "hello from $PWD"')).toMatchObject({
      exitCode: 0,
      stdout: 'hello from /workspace\n',
    })
    expect(await sandboxObjectExists(name)).toBe(true)
    expect(await sandboxCalls(name)).toContain('execStream')
    const after = await agent.peek()
    expect(after).toMatchObject({ status: 'ready', started: true })
    expect(after.state).toMatchObject({ sandboxId: name, startedAt: expect.any(Number) })
    // the agent's own hook saw each change once (this agent mirrors them into its state)
    expect((await runInDurableObject(agent, (instance) => instance.state)).statuses).toEqual([
      'starting',
      'ready',
    ])
  })

  it('gives each agent name its own sandbox, and the same sandbox to every stub of a name', async () => {
    const [alice, bob] = [newName('alice'), newName('bob')]
    const a = await getAgentByName(env.Coder, alice)
    const b = await getAgentByName(env.Coder, bob)
    await a.write('who.txt', 'alice')
    await b.write('who.txt', 'bob')
    expect(await a.read('who.txt')).toBe('alice')
    expect(await b.read('who.txt')).toBe('bob')
    expect((await a.state_()).sandboxId).toBe(alice)
    expect((await b.state_()).sandboxId).toBe(bob)
    // another stub of the same name (even after the object was evicted) reaches the same sandbox
    await evictDurableObject(a)
    expect(await (await getAgentByName(env.Coder, alice)).read('who.txt')).toBe('alice')
    // directly on the server, under the agent's name
    expect((await directSandbox(alice).readFile('/workspace/who.txt')).content).toBe('alice')
  })

  it('maps names that are not valid sandbox ids to distinct lowercase ids', async () => {
    const suffix = newName('x')
    const upper = `Alice Smith ${suffix}`
    const lower = `alice smith ${suffix}`
    const [u, l] = [await getAgentByName(env.Coder, upper), await getAgentByName(env.Coder, lower)]
    await u.write('who.txt', 'upper')
    await l.write('who.txt', 'lower')
    const [uid, lid] = [(await u.state_()).sandboxId!, (await l.state_()).sandboxId!]
    expect(uid).toMatch(/^alice-smith-x-[a-z0-9-]+-[0-9a-f]{12}$/)
    expect(lid).toMatch(/^alice-smith-x-[a-z0-9-]+-[0-9a-f]{12}$/)
    expect(uid).not.toBe(lid)
    expect([uid, lid]).toEqual([sandboxIdFor(upper), sandboxIdFor(lower)])
    expect(await u.read('who.txt')).toBe('upper')
    expect(await l.read('who.txt')).toBe('lower')
    expect(await sandboxCalls(uid)).toContain('writeFile')
  })

  it('derives valid, lowercase sandbox ids from any name', () => {
    expect(sandboxIdFor('alice')).toBe('alice')
    expect(sandboxIdFor('user-123')).toBe('user-123')
    for (const name of [
      'Alice',
      'www',
      'a_b',
      '-x-',
      '',
      'ü'.repeat(40),
      'x'.repeat(64),
      'Ünïcode 👋 name',
    ]) {
      const id = sandboxIdFor(name)
      expect(id).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])$/)
      expect(sandboxIdFor(name)).toBe(id)
    }
    expect(sandboxIdFor('www')).toMatch(/^www-[0-9a-f]{12}$/)
    expect(sandboxIdFor('-x-')).toMatch(/^x-[0-9a-f]{12}$/)
    expect(sandboxIdFor('ü'.repeat(40))).toMatch(/^agent-[0-9a-f]{12}$/)
    expect(sandboxIdFor('Alice')).not.toBe(sandboxIdFor('ALICE'))
  })

  it('takes its id function, workdir and output limits from the options; no idle timer when off', async () => {
    const name = newName()
    const agent = await getAgentByName(env.CustomCoder, name)
    expect((await agent.peek()).workdir).toBe('/workspace/project')
    const result = await agent.run('pwd; head -c 20000 /dev/zero | tr "\\0" a')
    expect(result.stdout.startsWith('/workspace/project\n')).toBe(true)
    expect(result.stdout.length).toBeLessThan(4000)
    expect((await agent.peek()).state.sandboxId).toBe(`custom-${name}`)
    expect(await sandboxCalls(`custom-${name}`)).toContain('execStream')
    expect(await sandboxCalls(name)).toEqual([])
    expect(await agent.idleSchedules()).toBe(0)
  })
})

describe('withSandbox(Agent): the agent owns the lifecycle', () => {
  it('destroys the sandbox when the agent is destroyed', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    await agent.write('keep.txt', 'work in progress')
    expect(await agent.background('sleep 60', 'sleeper')).toBe('sleeper')
    expect(await sandboxCalls(name)).not.toContain('destroy')

    await destroyAgent(agent)
    expect(await sandboxCalls(name)).toContain('destroy')
    // the agent's storage went with it: a new agent of that name starts from nothing
    const reborn = await getAgentByName(env.Coder, name)
    expect((await reborn.peek()).status).toBe('not-started')
    // and the sandbox is a fresh one
    const sandbox = directSandbox(name)
    expect((await sandbox.exists('/workspace/keep.txt')).exists).toBe(false)
    expect(await sandbox.listProcesses()).toEqual([])
  })

  it('destroys a sandbox used before the agent hibernated (this instance never called it)', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    await agent.write('before.txt', 'x')
    await evictDurableObject(agent)
    const woken = await getAgentByName(env.Coder, name)
    expect((await woken.peek()).status).toBe('ready')
    await destroyAgent(woken)
    expect(await sandboxCalls(name)).toContain('destroy')
    expect((await directSandbox(name).exists('/workspace/before.txt')).exists).toBe(false)
  })

  it('destroys nothing when the agent never used its sandbox', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    await agent.peek()
    await destroyAgent(agent)
    expect(await sandboxCalls(name)).toEqual([])
    expect(await sandboxObjectExists(name)).toBe(false)
  })

  it('destroySandbox() ends it now; the next use starts a fresh sandbox', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    await agent.run('echo data > file.txt && mkdir sub && cd sub && export LEFT=over')
    await agent.background('sleep 60', 'sleeper')
    await agent.destroySandbox()
    await agent.destroySandbox() // idempotent: nothing left to destroy
    expect((await sandboxCalls(name)).filter((m) => m === 'destroy')).toHaveLength(1)
    expect(await agent.state_()).toMatchObject({
      status: 'destroyed',
      destroyReason: 'explicit',
      session: null,
      processes: [],
      idleScheduleId: null,
    })
    expect(await agent.idleSchedules()).toEqual([])

    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    const fresh = await agent.run('ls -A; echo "$PWD ${LEFT-unset}"')
    expect(fresh.stdout).toBe('/workspace unset\n')
    expect((await agent.state_()).status).toBe('ready')
    expect((await runInDurableObject(agent, (instance) => instance.state)).statuses).toEqual([
      'starting',
      'ready',
      'destroyed',
      'starting',
      'ready',
    ])
  })
})

describe('withSandbox(Agent): hibernation', () => {
  it('a turn after eviction continues where the last one left off', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    await agent.run('mkdir -p app/src && cd app/src && export GREETING="hello again"')
    await agent.run('unset HOME')
    expect(await agent.code('answer = 41')).toBeUndefined()
    await agent.background('sleep 60', 'sleeper')
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    const url = await agent.expose(port)
    const before = await agent.state_()
    expect(before.session?.cwd).toBe('/workspace/app/src')
    expect(before.processes).toEqual([expect.objectContaining({ id: 'sleeper', command: 'sleep 60' })])
    expect(before.ports).toEqual([{ port, url }])

    await evictDurableObject(agent)
    const again = await getAgentByName(env.Coder, name)
    const { lastUsedAt: _a, ...restored } = await again.state_()
    const { lastUsedAt: _b, ...saved } = before
    expect(restored).toEqual(saved)
    // the sandbox is sessionless: cwd and variables come back from the agent's storage alone
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    const result = await again.run('pwd; echo "$GREETING|${HOME-unset}"')
    expect(result.stdout).toBe('/workspace/app/src\nhello again|unset\n')
    // the run_code context is the one from before the eviction
    expect(await again.code('answer + 1')).toBe('42')
    // still ready: waking up is not a new start
    expect((await again.peek()).status).toBe('ready')
    expect((await runInDurableObject(again, (instance) => instance.state)).statuses).toEqual([
      'starting',
      'ready',
    ])
    // the state lives in the agent's own SQLite storage
    const rows = await runInDurableObject(again, (_instance, state) =>
      state.storage.sql
        .exec<{ value: string }>("SELECT value FROM sandbox_agent_tools WHERE key = 'state'")
        .toArray(),
    )
    expect(JSON.parse(rows[0]!.value)).toMatchObject({ status: 'ready', sandboxId: name })
  })

  it('keeps one idle check in the schedule, however many operations and wake-ups', async () => {
    const name = newName()
    const agent = await getAgentByName(env.Coder, name)
    const firstUse = Date.now()
    for (let i = 0; i < 5; i++) await agent.run(`echo ${i}`)
    const [check, ...more] = await agent.idleSchedules()
    expect(more).toEqual([])
    // due 15 minutes (the default) after the first use, in whole seconds
    expect(check!.time * 1000).toBeGreaterThanOrEqual(firstUse + 15 * 60_000)
    expect((await agent.state_()).idleScheduleId).toBe(check!.id)

    await evictDurableObject(agent)
    const again = await getAgentByName(env.Coder, name)
    for (let i = 0; i < 5; i++) await again.run(`echo ${i}`)
    expect(await again.idleSchedules()).toEqual([check])
  })
})
