import { afterEach, describe, expect, it } from 'vitest'
import type { SandboxBackend } from '../src/backend.js'
import { SandboxTimeoutError, SessionDestroyedError } from '../src/errors.js'
import { localSandbox } from '../src/local/index.js'
import { createSession, type SandboxSession, type SessionEvent, withSession } from '../src/session.js'
import { faulty } from './helpers/faulty.js'

const sessions: SandboxSession[] = []
function track(session: SandboxSession): SandboxSession {
  sessions.push(session)
  return session
}
function newId(): string {
  return `session-${crypto.randomUUID().slice(0, 8)}`
}
function local(): SandboxBackend {
  return localSandbox(newId())
}
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()))
})

describe('lazy start', () => {
  it('calls the factory only on the first operation, once for concurrent first calls', async () => {
    let calls = 0
    const backend = local()
    const session = track(
      createSession({
        sandbox: () => {
          calls++
          return backend
        },
      }),
    )
    expect(session.started).toBe(false)
    expect(calls).toBe(0)
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => session.exec(`echo ${i}`)))
    expect(calls).toBe(1)
    expect(session.started).toBe(true)
    expect(results.map((r) => r.stdout.text)).toEqual(Array.from({ length: 10 }, (_, i) => `${i}\n`))
  })

  it('creates a workdir other than /workspace on start', async () => {
    const session = track(createSession({ sandbox: local, workdir: '/workspace/app/src' }))
    expect((await session.exec('pwd')).stdout.text).toBe('/workspace/app/src\n')
  })

  it('rejects a factory that returns something that is not a sandbox', async () => {
    const session = track(createSession({ sandbox: () => ({}) as SandboxBackend }))
    await expect(session.exec('true')).rejects.toThrow(/did not return a sandbox/)
  })
})

describe('cwd and env tracking over sessionless commands', () => {
  it('keeps cd and export between calls', async () => {
    const session = track(createSession({ sandbox: local }))
    await session.exec('mkdir -p src/deep && cd src')
    expect((await session.exec('pwd')).stdout.text).toBe('/workspace/src\n')
    expect(session.cwd).toBe('/workspace/src')
    await session.exec('export A=1 B="two words"')
    expect((await session.exec('echo "$A|$B"')).stdout.text).toBe('1|two words\n')
    await session.exec('unset A')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    expect((await session.exec('echo "[${A-unset}]"')).stdout.text).toBe('[unset]\n')
  })

  it('remembers a variable the very first command unset', async () => {
    const session = track(createSession({ sandbox: local }))
    await session.exec('unset HOME')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    expect((await session.exec('echo "[${HOME-unset}]"')).stdout.text).toBe('[unset]\n')
  })

  it('keeps output and exit code of `exit N`, and later commands still run', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec('echo c; exit 3')
    expect(r.exitCode).toBe(3)
    expect(r.stdout.text).toBe('c\n')
    expect((await session.exec('echo next')).exitCode).toBe(0)
  })

  it('an unbalanced quote is a syntax error, not a wedged shell', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec("echo 'oops")
    expect(r.exitCode).toBe(2)
    expect(r.stderr.text).toMatch(/unexpected EOF|matching/)
    expect((await session.exec('echo fine')).stdout.text).toBe('fine\n')
  })

  it('falls back to the workdir when the tracked cwd was removed', async () => {
    const session = track(createSession({ sandbox: local }))
    await session.exec('mkdir gone && cd gone')
    await session.execRaw('rmdir /workspace/gone')
    const r = await session.exec('pwd')
    expect(r.stdout.text).toBe('/workspace\n')
    expect(r.stderr.text).toMatch(/no longer exists/)
  })

  it('never shows the state block to the model, even for huge output', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec('export SECRET_TOKEN=abc; seq 1 200000')
    expect(r.stdout.text).not.toMatch(/SECRET_TOKEN|__SAT_STATE/)
    expect(r.stdout.truncated).toBe(true)
    expect(session.env.SECRET_TOKEN).toBe('abc')
  })
})

describe('timeouts', () => {
  it('reports a timeout as a timeout, keeps partial output and kills background children', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec('echo started; (sleep 30; touch /workspace/child-survived) & sleep 30', {
      timeoutMs: 700,
    })
    expect(r).toMatchObject({ timedOut: true, exitCode: null, stdout: { text: 'started\n' } })
    expect(r.stderr.text).toMatch(/timed out after 700 ms/)
    const ps = await session.execRaw('ps -eo args | grep "[s]leep 30" | wc -l')
    expect(ps.stdout.trim()).toBe('0')
  })

  it('a command waiting on stdin does not hang', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec('cat; read x; echo "read:$x"', { timeoutMs: 5000 })
    expect(r).toMatchObject({ timedOut: false, exitCode: 0, stdout: { text: 'read:\n' } })
  })

  it('puts a client-side deadline on backend calls', async () => {
    const backend = faulty(local())
    const session = track(createSession({ sandbox: () => backend, callTimeoutMs: 200, checkSymlinks: false }))
    await session.exec('echo hi > a.txt')
    backend.inject('readFile', { delayMs: 2000 })
    await expect(session.readFile('a.txt')).rejects.toBeInstanceOf(SandboxTimeoutError)
  })
})

describe('retries', () => {
  it('retries a command that provably never started, and runs it once', async () => {
    const backend = faulty(local())
    const events: SessionEvent[] = []
    const session = track(createSession({ sandbox: () => backend, onEvent: (e) => events.push(e) }))
    backend.inject('execStream', 'unavailable', 'unavailable')
    const r = await session.exec('echo ran >> runs.txt; cat runs.txt')
    expect(r.stdout.text).toBe('ran\n')
    expect(backend.attempted.execStream).toBe(3)
    expect(backend.reached.execStream).toBe(1)
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2)
  })

  it('never re-runs a command whose transport dropped after it started', async () => {
    const backend = faulty(local())
    const session = track(createSession({ sandbox: () => backend }))
    backend.inject('execStream', 'dropped-after')
    await expect(session.exec('echo ran >> runs.txt')).rejects.toThrow(/peer closed/)
    expect(backend.reached.execStream).toBe(1)
    const runs = await session.execRaw('cat /workspace/runs.txt')
    expect(runs.stdout).toBe('ran\n')
  })

  it('does not retry a stream dropped mid-way', async () => {
    const backend = faulty(local())
    const session = track(createSession({ sandbox: () => backend }))
    backend.inject('execStream', { dropStreamAfterBytes: 10 })
    await expect(session.exec('echo once >> runs.txt; seq 1 1000')).rejects.toThrow(/stream dropped/)
    expect(backend.reached.execStream).toBe(1)
  })

  it('retries idempotent calls on transport errors, within the budget', async () => {
    const backend = faulty(local())
    const session = track(createSession({ sandbox: () => backend, checkSymlinks: false }))
    await session.exec('echo hi > a.txt')
    backend.inject('readFile', 'dropped-after', 'unavailable')
    expect((await session.readFile('a.txt')).content).toBe('hi\n')
    backend.inject('readFile', ...Array(10).fill('unavailable'))
    const fast = track(
      createSession({ sandbox: () => backend, checkSymlinks: false, retry: { retries: 2, minDelayMs: 1 } }),
    )
    await expect(fast.readFile('a.txt')).rejects.toThrow(/Container is starting/)
  })

  it('retries the start when the container is not ready', async () => {
    let attempts = 0
    const backend = local()
    const session = track(
      createSession({
        sandbox: () => {
          attempts++
          if (attempts < 3) throw Object.assign(new Error('starting'), { code: 'CONTAINER_UNAVAILABLE' })
          return backend
        },
        retry: { minDelayMs: 1 },
      }),
    )
    expect((await session.exec('echo up')).stdout.text).toBe('up\n')
    expect(attempts).toBe(3)
  })
})

describe('destroy', () => {
  it('is idempotent, destroys once, and later operations fail clearly', async () => {
    const backend = faulty(local())
    const events: SessionEvent[] = []
    const session = createSession({ sandbox: () => backend, onEvent: (e) => events.push(e) })
    await session.exec('true')
    await Promise.all([session.destroy(), session.destroy()])
    await session.destroy()
    expect(backend.reached.destroy).toBe(1)
    expect(events.filter((e) => e.type === 'destroyed')).toHaveLength(1)
    await expect(session.exec('true')).rejects.toBeInstanceOf(SessionDestroyedError)
  })

  it('a session that never started destroys nothing', async () => {
    let calls = 0
    const session = createSession({
      sandbox: () => {
        calls++
        return local()
      },
    })
    await session.destroy()
    expect(calls).toBe(0)
  })

  it('withSession destroys on return and on throw; await using disposes', async () => {
    const backend = faulty(local())
    const value = await withSession(
      { sandbox: () => backend },
      async (s) => (await s.exec('echo v')).stdout.text,
    )
    expect(value).toBe('v\n')
    expect(backend.reached.destroy).toBe(1)

    const thrower = faulty(local())
    await expect(
      withSession({ sandbox: () => thrower }, async (s) => {
        await s.exec('true')
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(thrower.reached.destroy).toBe(1)

    const disposed = faulty(local())
    {
      await using s = createSession({ sandbox: () => disposed })
      await s.exec('true')
    }
    expect(disposed.reached.destroy).toBe(1)
  })
})

describe('output', () => {
  it('caps huge output while it streams and saves the full output for paging', async () => {
    const session = track(createSession({ sandbox: local }))
    const r = await session.exec('seq 1 300000')
    expect(new TextEncoder().encode(r.stdout.text).length).toBeLessThanOrEqual(16 * 1024)
    expect(r.stdout.text.startsWith('1\n2\n3\n')).toBe(true)
    expect(r.stdout.text.trimEnd().endsWith('300000')).toBe(true)
    expect(r.fullOutputPath).toBeDefined()
    const lines = await session.execRaw(`wc -l < ${r.fullOutputPath}`)
    expect(lines.stdout.trim()).toBe('300000')
  })

  it('reports stdout progress while the command runs, without the state block', async () => {
    const session = track(createSession({ sandbox: local }))
    const seen: string[] = []
    const r = await session.exec('echo one; sleep 0.4; echo two; sleep 0.4; echo three', {
      onProgress: (p) => seen.push(p.stdout),
    })
    expect(r.stdout.text).toBe('one\ntwo\nthree\n')
    expect(seen.some((s) => s.startsWith('one') && !s.includes('three'))).toBe(true)
    expect(seen.join('')).not.toMatch(/__SAT_STATE/)
  })

  it('emits command events', async () => {
    const events: SessionEvent[] = []
    const session = track(createSession({ sandbox: local, onEvent: (e) => events.push(e) }))
    await session.exec('false')
    expect(events.map((e) => e.type)).toEqual(['started', 'command-started', 'command-finished'])
    expect(events.at(-1)).toMatchObject({ exitCode: 1, timedOut: false })
  })
})

describe('files and containment', () => {
  it('writes atomically with parents and refuses escapes, symlinks included', async () => {
    const session = track(createSession({ sandbox: local }))
    await session.writeFile('a/b/c.txt', 'hello')
    expect((await session.readFile('a/b/c.txt')).content).toBe('hello')
    expect((await session.execRaw('ls -a /workspace/a/b')).stdout.split('\n').filter(Boolean)).toEqual([
      '.',
      '..',
      'c.txt',
    ])
    await session.exec('printf "#!/bin/sh\\necho v1\\n" > run.sh && chmod +x run.sh')
    await session.writeFile('run.sh', '#!/bin/sh\necho v2\n')
    expect((await session.exec('./run.sh')).stdout.text).toBe('v2\n')
    await expect(session.readFile('../etc/passwd')).rejects.toThrow(/outside|\.\./)
    await expect(session.writeFile('/etc/evil', 'x')).rejects.toThrow(/outside/)
    await session.exec('ln -s /etc link-out && ln -s /etc/hostname file-out')
    await expect(session.readFile('link-out/passwd')).rejects.toThrow(/symbolic link/)
    await expect(session.writeFile('file-out', 'x')).rejects.toThrow(/symbolic link/)
  })
})
