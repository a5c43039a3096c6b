/**
 * R8 — injected backend faults, through the TOOLS of every adapter (test/helpers/faulty.ts wraps a
 * real local sandbox): a container that is not ready, a transport dropped before, after or in the
 * middle of a call, slow and stalled answers. Transient faults are retried within the budget and the
 * call succeeds; the others reach the model as errors with the real reason; timeouts are honoured; and
 * no command runs twice (each appends a line to a side-effect file, counted on the host).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession, type SessionOptions } from '../../src/session.js'
import { type FaultyBackend, faulty } from '../helpers/faulty.js'
import type { ModelView } from '../tools/suite.js'
import { hasBwrap, NO_BWRAP_REASON } from './host.js'
import { adapterNames, invokerFor, type RawInvoke } from './invokers.js'

interface Rig {
  backend: FaultyBackend
  session: SandboxSession
  invoke: RawInvoke
  /** How many times the side-effect commands ran (lines of /workspace/runs.txt, read on the host). */
  runs: () => number
  /** Calls `invoke` and measures it. */
  timed: (name: string, input: unknown) => Promise<ModelView & { ms: number }>
}

const RUN = 'echo run >> /workspace/runs.txt'

describe.skipIf(!hasBwrap)(
  `R8 injected backend faults through the tools (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`,
  () => {
    for (const adapter of adapterNames) {
      describe.concurrent(adapter, () => {
        async function rig(
          options: Partial<SessionOptions> = {},
          sandbox?: (backend: FaultyBackend) => SessionOptions['sandbox'],
        ): Promise<Rig & AsyncDisposable> {
          const inner = localSandbox(`r8-${adapter}-${crypto.randomUUID().slice(0, 8)}`)
          const backend = faulty(inner)
          const session = createSession({
            sandbox: sandbox ? sandbox(backend) : () => backend,
            retry: { minDelayMs: 20, maxDelayMs: 200, budgetMs: 3000 },
            ...options,
          })
          const invoke = invokerFor(adapter, session)
          const file = join(inner.root, 'runs.txt')
          return {
            backend,
            session,
            invoke,
            runs: () =>
              existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0,
            timed: async (name, input) => {
              const started = performance.now()
              const view = await invoke(name, input)
              return { ...view, ms: performance.now() - started }
            },
            [Symbol.asyncDispose]: () => session.destroy(),
          }
        }

        it('a container that is not ready at the start: retried, the call succeeds, the command runs once', async () => {
          let attempts = 0
          await using r = await rig({}, (backend) => () => {
            attempts++
            if (attempts < 3)
              throw Object.assign(new Error('Container is starting'), { code: 'CONTAINER_UNAVAILABLE' })
            return backend
          })
          const view = await r.timed('shell', { command: `${RUN}; echo done` })
          expect(view.error, view.text).toBe(false)
          expect(view.text).toContain('done')
          expect(attempts).toBe(3)
          expect(r.runs()).toBe(1)
          expect(view.ms).toBeLessThan(3000)
        })

        it('a command refused before it started (container unavailable): retried, runs once', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('execStream', 'unavailable', 'unavailable')
          const view = await r.timed('shell', { command: `${RUN}; echo done` })
          expect(view.error, view.text).toBe(false)
          expect(view.text).toContain('done')
          expect(r.backend.reached.execStream).toBe(2) // the start's `true`, then this one once
          expect(r.runs()).toBe(1)
        })

        it('a transport dropped after the command ran: an error with the reason, never run again', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('execStream', 'dropped-after')
          const view = await r.timed('shell', { command: RUN })
          expect(view.error, view.text).toBe(true)
          expect(view.text).toMatch(/peer closed|RPC_TRANSPORT_ERROR/)
          expect(r.runs()).toBe(1)
        })

        it('a stream dropped in the middle: an error with the reason, never run again', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('execStream', { dropStreamAfterBytes: 4000 }) // after the first output: the command has run
          const view = await r.timed('shell', { command: `${RUN}; seq 1 5000` })
          expect(view.error, view.text).toBe(true)
          expect(view.text).toMatch(/stream dropped|RPC_TRANSPORT_ERROR/)
          expect(r.runs()).toBe(1)
        })

        it('an idempotent read whose transport drops: retried, the model gets the file', async () => {
          await using r = await rig()
          await r.session.writeFile('a.txt', 'hello\n')
          r.backend.inject('readFile', 'dropped-after', 'unavailable')
          const view = await r.timed('read_file', { path: 'a.txt' })
          expect(view.error, view.text).toBe(false)
          expect(view.text).toContain('hello')
          expect(r.backend.attempted.readFile).toBe(3)
        })

        it('a write whose move was refused before it started: retried, written once', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('exec', 'ok', 'ok', 'unavailable') // two realpath checks, then the atomic move
          const view = await r.timed('write_file', { path: 'w.txt', content: 'once\n' })
          expect(view.error, view.text).toBe(false)
          expect((await r.session.readFile('w.txt')).content).toBe('once\n')
        })

        it('a container that stays unavailable: the retries stop within the budget, and the model is told why', async () => {
          await using r = await rig({
            retry: { minDelayMs: 50, maxDelayMs: 200, budgetMs: 600, retries: 50 },
          })
          await r.session.writeFile('a.txt', 'x')
          r.backend.inject('readFile', ...Array(100).fill('unavailable'))
          const view = await r.timed('read_file', { path: 'a.txt' })
          expect(view.error).toBe(true)
          expect(view.text).toMatch(/Container is starting|CONTAINER_UNAVAILABLE/)
          expect(view.ms).toBeLessThan(600 + 1000)
        })

        it('a slow answer: the call deadline is honoured and reported as a timeout', async () => {
          await using r = await rig({ callTimeoutMs: 300 })
          await r.session.writeFile('a.txt', 'x')
          r.backend.inject('readFile', { delayMs: 5000 })
          const view = await r.timed('read_file', { path: 'a.txt' })
          expect(view.error).toBe(true)
          expect(view.text).toMatch(/did not answer readFile within 300 ms/)
          expect(view.ms).toBeLessThan(300 + 1000)
        })

        it('a slow (but finishing) command start: the command still runs once and its result arrives', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('execStream', { delayMs: 700 })
          const view = await r.timed('shell', { command: `${RUN}; echo done` })
          expect(view.error, view.text).toBe(false)
          expect(view.text).toContain('done')
          expect(r.runs()).toBe(1)
        })

        it('a stalled container (the command call never answers): the shell call ends by its deadline', async () => {
          await using r = await rig()
          await r.session.exec('true')
          r.backend.inject('execStream', { delayMs: 12_000 })
          const view = await r.timed('shell', { command: RUN, timeout_ms: 500 })
          // the session's own deadline for a command is its timeout + 5 s
          expect(view.ms, view.text).toBeLessThan(500 + 5000 + 1000)
          expect(view.text).toMatch(/timed out|did not answer/)
          expect(r.runs()).toBeLessThanOrEqual(1)
        }, 20_000)
      })
    }
  },
)
