/**
 * R4 — destroy-on-done: `withSession` destroys the sandbox exactly once whether its body returns,
 * throws, or is aborted through an AbortSignal while a command or a tool call runs (and when the body
 * ends while the sandbox is still starting). R5 — 100 parallel tool calls on a fresh session (the
 * first start included) through every adapter: the factory is called once and every result belongs
 * to its call (each echoes a token unique to the call).
 */
import { describe, expect, it } from 'vitest'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession, type SessionOptions, withSession } from '../../src/session.js'
import { runTool, shell } from '../../src/tools/index.js'
import { type FaultyBackend, faulty } from '../helpers/faulty.js'
import { hasBwrap, hostProcesses, NO_BWRAP_REASON, waitFor } from './host.js'
import { adapterNames, invokerFor } from './invokers.js'

/** Session options over a counted backend: how often the factory ran, and the backend's own counts. */
function counted(): { options: SessionOptions; factoryCalls: () => number; backend: FaultyBackend } {
  const backend = faulty(localSandbox(`r4-${crypto.randomUUID().slice(0, 8)}`))
  let calls = 0
  return {
    options: {
      sandbox: () => {
        calls++
        return backend
      },
    },
    factoryCalls: () => calls,
    backend,
  }
}

const destroys = (b: FaultyBackend) => b.attempted.destroy ?? 0

describe.skipIf(!hasBwrap)(`R4 destroy-on-done (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`, () => {
  it('on return: one destroy', async () => {
    const { options, backend } = counted()
    expect(await withSession(options, async (s) => (await s.exec('echo ok')).stdout.text)).toBe('ok\n')
    expect(destroys(backend)).toBe(1)
  })

  it('on throw: one destroy, and the error is the body’s', async () => {
    const { options, backend } = counted()
    const boom = new Error('boom')
    await expect(
      withSession(options, async (s) => {
        await s.exec('true')
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(destroys(backend)).toBe(1)
  })

  it('on abort of a running command: it stops at once, one destroy, nothing left running', async () => {
    const { options, backend } = counted()
    const controller = new AbortController()
    const tag = `8${process.pid}1`
    const started = Date.now()
    const outcome = withSession(options, async (s) => {
      const run = s.exec(`sleep ${tag}`, { signal: controller.signal })
      await waitFor(() => hostProcesses(`sleep ${tag}`).length > 0, 'the command to start')
      controller.abort(new Error('user pressed stop'))
      const result = await run
      controller.signal.throwIfAborted()
      return result
    })
    await expect(outcome).rejects.toThrow('user pressed stop')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(destroys(backend)).toBe(1)
    expect(hostProcesses(`sleep ${tag}`)).toEqual([])
  })

  it('an aborted command stops running in the sandbox (before any destroy)', async () => {
    const { options } = counted()
    const tag = `8${process.pid}3`
    await withSession(options, async (s) => {
      const controller = new AbortController()
      const run = s.exec(`sleep ${tag}`, { signal: controller.signal })
      await waitFor(() => hostProcesses(`sleep ${tag}`).length > 0, 'the command to start')
      controller.abort()
      expect((await run).stderr.text).toMatch(/aborted/)
      // the sandbox is still alive here: the aborted command must be gone from it
      await waitFor(
        () => hostProcesses(`sleep ${tag}`).length === 0,
        'the aborted command to stop',
        4000,
      ).catch(() => {})
      expect(hostProcesses(`sleep ${tag}`), 'the aborted command still runs').toEqual([])
    })
  })

  it('on abort of a running tool call (the framework’s signal): one destroy', async () => {
    const { options, backend } = counted()
    const controller = new AbortController()
    const tag = `8${process.pid}2`
    const outcome = withSession(options, async (s) => {
      const call = runTool(shell, s, { command: `sleep ${tag}` }, { signal: controller.signal })
      await waitFor(() => hostProcesses(`sleep ${tag}`).length > 0, 'the command to start')
      controller.abort()
      const output = await call
      expect(output.text).toMatch(/aborted/)
      return output
    })
    await expect(outcome).resolves.toBeDefined()
    expect(destroys(backend)).toBe(1)
    expect(hostProcesses(`sleep ${tag}`)).toEqual([])
  })

  it('when the body ends while the sandbox is still starting: one start, one destroy', async () => {
    const backend = faulty(localSandbox(`r4-${crypto.randomUUID().slice(0, 8)}`))
    let calls = 0
    const options: SessionOptions = {
      sandbox: async () => {
        calls++
        await new Promise((r) => setTimeout(r, 200))
        return backend
      },
    }
    let pending: Promise<unknown> | undefined
    await expect(
      withSession(options, async (s) => {
        pending = s.exec('echo late').catch((e: unknown) => e)
        throw new Error('gave up early')
      }),
    ).rejects.toThrow('gave up early')
    expect(calls).toBe(1)
    expect(destroys(backend)).toBe(1)
    // the call that was waiting for the start fails clearly instead of running on a destroyed sandbox
    expect(String(await pending)).toMatch(/destroyed/i)
  })

  it('destroy called again by the body, by `await using` and concurrently: still one destroy', async () => {
    const { options, backend } = counted()
    await withSession(options, async (s) => {
      await s.exec('true')
      await Promise.all([s.destroy(), s.destroy()])
      await s[Symbol.asyncDispose]()
    })
    expect(destroys(backend)).toBe(1)

    const other = counted()
    {
      await using s = createSession(other.options)
      await s.exec('true')
    }
    expect(destroys(other.backend)).toBe(1)
  })

  it('a session that never started: the factory is never called, nothing is destroyed', async () => {
    const { options, factoryCalls, backend } = counted()
    await withSession(options, async () => 'nothing')
    await expect(withSession(options, async () => Promise.reject(new Error('x')))).rejects.toThrow('x')
    expect(factoryCalls()).toBe(0)
    expect(destroys(backend)).toBe(0)
  })
})

describe.skipIf(!hasBwrap)(
  `R5 100 parallel tool calls on one fresh session (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`,
  () => {
    /** 100 calls of five kinds, each with its own token; `check` finds the token in what the model reads. */
    function plan(): { tool: string; input: unknown; token: string; check: RegExp }[] {
      return Array.from({ length: 100 }, (_, i) => {
        const token = `tok${i}x${crypto.randomUUID().slice(0, 8)}`
        switch (i % 5) {
          case 0:
          case 1:
            return {
              tool: 'shell',
              input: { command: `echo ${token}` },
              token,
              check: new RegExp(`^${token}$`, 'm'),
            }
          case 2:
            return {
              tool: 'write_file',
              input: { path: `out/${token}.txt`, content: token },
              token,
              check: new RegExp(`Created out/${token}\\.txt`),
            }
          case 3:
            return {
              tool: 'apply_patch',
              input: { patch: `*** Begin Patch\n*** Add File: p/${token}.md\n+${token}\n*** End Patch` },
              token,
              check: new RegExp(`p/${token}\\.md`),
            }
          default:
            return {
              tool: 'run_code',
              input: { code: `print("${token}")` },
              token,
              check: new RegExp(`^${token}$`, 'm'),
            }
        }
      })
    }

    for (const adapter of adapterNames) {
      it(`${adapter}: one factory call, every result carries its own token`, async () => {
        let factoryCalls = 0
        const sandbox = localSandbox(`r5-${adapter}-${crypto.randomUUID().slice(0, 8)}`)
        const session: SandboxSession = createSession({
          sandbox: () => {
            factoryCalls++
            return sandbox
          },
        })
        try {
          const invoke = invokerFor(adapter, session)
          const calls = plan()
          expect(session.started).toBe(false)
          const views = await Promise.all(calls.map((c) => invoke(c.tool, c.input)))
          expect(factoryCalls).toBe(1)
          for (const [i, view] of views.entries()) {
            const c = calls[i]!
            expect(view.error, `${c.tool} #${i}: ${view.text}`).toBe(false)
            expect(view.text, `${c.tool} #${i}`).toMatch(c.check)
            // and no other call's token leaked into this result
            const others = calls.filter((o) => o !== c && view.text.includes(o.token))
            expect(others.map((o) => o.token)).toEqual([])
          }
          // the files are there, each with its own content
          for (const c of calls.filter((c) => c.tool === 'write_file')) {
            expect((await session.readFile(`out/${c.token}.txt`)).content).toBe(c.token)
          }
        } finally {
          await session.destroy()
        }
      })
    }
  },
)
