/**
 * Seeding and exporting a session's state (`initialState`, `snapshotState()`, the `state-changed`
 * event): what lets a later session — e.g. after a Durable Object woke from hibernation — continue
 * on the same sandbox where an earlier one left off.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { SandboxBackend } from '../src/backend.js'
import { localSandbox } from '../src/local/index.js'
import { createSession, type SessionState } from '../src/session.js'

const backends: SandboxBackend[] = []
function backend(): SandboxBackend {
  const sandbox = localSandbox(`state-${crypto.randomUUID().slice(0, 8)}`)
  backends.push(sandbox)
  return sandbox
}
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.destroy()))
})

describe('snapshotState', () => {
  it('starts from the workdir and the session env, with no backend call', () => {
    let calls = 0
    const session = createSession({
      sandbox: () => {
        calls++
        return backend()
      },
      workdir: '/workspace/project',
      env: { TOKEN: 'abc' },
    })
    expect(session.snapshotState()).toEqual({
      cwd: '/workspace/project',
      env: { TOKEN: 'abc' },
      unset: [],
      codeContexts: {},
    })
    expect(calls).toBe(0)
  })

  it('follows cd, export and unset, and is a copy', async () => {
    const session = createSession({ sandbox: backend, env: { KEEP: 'k', DROP: 'd' } })
    await session.exec('mkdir -p src && cd src && export GREETING="hello there"')
    const first = session.snapshotState()
    expect(first).toMatchObject({ cwd: '/workspace/src', unset: [] })
    expect(first.env).toMatchObject({ KEEP: 'k', DROP: 'd', GREETING: 'hello there' })

    await session.exec('echo nothing changes')
    expect(session.snapshotState()).toEqual(first)

    await session.exec('unset DROP')
    const second = session.snapshotState()
    expect(second.unset).toEqual(['DROP'])
    expect(second.env).not.toHaveProperty('DROP')
    second.env.GREETING = 'changed'
    second.unset.push('KEEP')
    expect(session.env.GREETING).toBe('hello there')
    expect(session.snapshotState().unset).toEqual(['DROP'])
  })

  it('lists the run_code contexts once created', async () => {
    const session = createSession({ sandbox: backend })
    await session.runCode('x = 41')
    expect(session.snapshotState().codeContexts).toEqual({
      python: { id: expect.any(String), language: 'python', cwd: '/workspace' },
    })
  })
})

describe('initialState', () => {
  it('continues a previous session on the same sandbox: cwd, exports, unsets and code contexts', async () => {
    const sandbox = backend()
    const first = createSession({ sandbox: () => sandbox, env: { MODE: 'dev' } })
    await first.exec('mkdir -p app/lib && cd app/lib && export COUNT=3 && unset MODE')
    await first.runCode('answer = 41')
    // the JSON round trip a Durable Object's storage puts it through
    const saved = JSON.parse(JSON.stringify(first.snapshotState())) as SessionState

    let calls = 0
    const second = createSession({
      sandbox: () => {
        calls++
        return sandbox
      },
      env: { MODE: 'dev' },
      initialState: saved,
    })
    expect(second.cwd).toBe('/workspace/app/lib')
    expect(second.snapshotState()).toEqual(saved)
    expect(calls).toBe(0)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    const result = await second.exec('echo "$PWD|$COUNT|${MODE-unset}"')
    expect(result.stdout.text).toBe('/workspace/app/lib|3|unset\n')
    const code = await second.runCode('answer + 1')
    expect(code.results[0]?.text).toBe('42')
    await second.destroy()
  })

  it('takes a partial state: the rest comes from the options', async () => {
    const session = createSession({
      sandbox: backend,
      env: { A: 'from options' },
      initialState: { env: { B: 'restored' } },
    })
    expect(session.snapshotState()).toEqual({
      cwd: '/workspace',
      env: { A: 'from options', B: 'restored' },
      unset: [],
      codeContexts: {},
    })
    expect((await session.exec('echo "$A|$B|$PWD"')).stdout.text).toBe('from options|restored|/workspace\n')
  })

  it('ignores a cwd that is not absolute, and falls back to the workdir when the cwd is gone', async () => {
    expect(createSession({ sandbox: backend, initialState: { cwd: 'relative' } }).cwd).toBe('/workspace')
    const session = createSession({ sandbox: backend, initialState: { cwd: '/workspace/removed-meanwhile' } })
    const result = await session.exec('pwd')
    expect(result.stdout.text).toBe('/workspace\n')
    expect(result.stderr.text).toMatch(/no longer exists/)
  })

  it('a restored code context that is gone fails once, is dropped, and the next run gets a fresh one', async () => {
    const sandbox = backend()
    const session = createSession({
      sandbox: () => sandbox,
      initialState: {
        codeContexts: { python: { id: 'ctx-from-a-previous-life', language: 'python', cwd: '/' } },
      },
    })
    expect(session.snapshotState().codeContexts.python?.id).toBe('ctx-from-a-previous-life')
    await expect(session.runCode('1 + 1')).rejects.toMatchObject({ code: 'CONTEXT_NOT_FOUND' })
    expect(session.snapshotState().codeContexts).toEqual({})
    const fresh = await session.runCode('1 + 1')
    expect(fresh.results[0]?.text).toBe('2')
    expect(session.snapshotState().codeContexts.python?.id).not.toBe('ctx-from-a-previous-life')
  })
})
