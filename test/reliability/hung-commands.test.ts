/**
 * R3 — hung commands. Commands that never end on their own (sleep, a busy loop, background children
 * that keep the output open, processes that ignore SIGTERM) and commands that wait on stdin, through
 * the shell tool of every adapter and the OpenAI adapter's native `SandboxShell`. Each call must
 * return within its timeout + 1 s (a correctness bound, measured on the wall clock), say that it timed
 * out, and leave none of its processes running; after destroy no process of the sandbox remains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SandboxShell } from '../../adapters/openai/index.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { hasBwrap, hostProcesses, NO_BWRAP_REASON, waitFor } from './host.js'
import { adapterNames, invokerFor } from './invokers.js'

const TIMEOUT_MS = 1000
const paths = [...adapterNames, 'openai-native'] as const
type Path = (typeof paths)[number]

interface Case {
  name: string
  /**
   * The command; `TAG` is replaced by a number unique to the call (a sleep's duration, a comment),
   * so that every process of the command carries it in its command line.
   */
  command: string
  /**
   * Whether it must time out (false: it ends by itself — on end of input, or because its background
   * children end with the foreground command).
   */
  hangs: boolean
}

const cases: Case[] = [
  { name: 'sleep', command: 'sleep TAG', hangs: true },
  { name: 'busy loop', command: 'while :; do :; done # TAG', hangs: true },
  { name: 'waits on stdin (cat, read)', command: 'cat; read x; echo "read:$x" # TAG', hangs: false },
  { name: 'waits on stdin (python input())', command: 'python3 -c "input()" # TAG', hangs: false },
  {
    name: 'a background child that keeps stdout open',
    command: 'sleep TAG & echo started',
    hangs: false,
  },
  { name: 'a background child in a subshell', command: '(sleep TAG &); echo started', hangs: false },
  { name: 'a setsid background child', command: 'setsid sleep TAG & echo started', hangs: false },
  { name: 'a process that ignores SIGTERM', command: "trap '' TERM; sleep TAG", hangs: true },
  {
    name: 'a nested busy loop that ignores SIGTERM',
    command: `bash -c "trap '' TERM INT; while :; do :; done # TAG"`,
    hangs: true,
  },
]

describe.skipIf(!hasBwrap)(`R3 hung commands (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`, () => {
  const sessions = new Map<Path, SandboxSession>()
  const roots: string[] = []
  const tags: string[] = []

  beforeAll(async () => {
    for (const path of paths) {
      const sandbox = localSandbox(`r3-${path}-${process.pid}`)
      roots.push(sandbox.root)
      const session = createSession({ sandbox: () => sandbox })
      await session.exec('true') // started: the measured calls do not include the start
      sessions.set(path, session)
    }
  })

  /** One shell call through `path`: the text the model reads. */
  async function shell(path: Path, command: string): Promise<string> {
    const session = sessions.get(path)!
    if (path === 'openai-native') {
      const result = await new SandboxShell(session).run({ commands: [command], timeoutMs: TIMEOUT_MS })
      const entry = result.output[0]!
      return `${entry.stdout}\n${entry.stderr}\n${JSON.stringify(entry.outcome)}`
    }
    const view = await invokerFor(path, session)('shell', { command, timeout_ms: TIMEOUT_MS })
    return view.text
  }

  for (const [k, c] of cases.entries()) {
    it(`${c.name}: returns within timeout + 1 s through every adapter, and leaves no process running`, async () => {
      // the five invocation paths side by side, each on its own sandbox
      const results = await Promise.all(
        paths.map(async (path) => {
          const tag = `9${k}${paths.indexOf(path)}${process.pid}`
          tags.push(tag)
          const started = performance.now()
          const text = await shell(path, c.command.replace('TAG', tag))
          const elapsed = performance.now() - started
          const left = await sessions.get(path)!.execRaw(`ps -eo args | grep -c '[${tag[0]}]${tag.slice(1)}'`)
          return { path, tag, text, elapsed, left: Number(left.stdout.trim()) }
        }),
      )
      for (const r of results) {
        const label = `${r.path} (${Math.round(r.elapsed)} ms): ${r.text.slice(-300)}`
        expect.soft(r.elapsed, label).toBeLessThan(TIMEOUT_MS + 1000)
        if (c.hangs) expect.soft(r.text, label).toMatch(/timed out|"timeout"/)
        else expect.soft(r.text, label).not.toMatch(/timed out|"timeout"/)
        expect.soft(r.left, `${label}\nprocesses of the command still running after the call`).toBe(0)
      }
    })
  }

  afterAll(async () => {
    await Promise.all([...sessions.values()].map((s) => s.destroy()))
  })

  it('after destroy, no process of any sandbox remains', async () => {
    await Promise.all([...sessions.values()].map((s) => s.destroy()))
    await waitFor(
      () =>
        tags.every((tag) => hostProcesses(tag).length === 0) &&
        roots.every((root) => hostProcesses(root).length === 0),
      'the sandboxes’ processes to be gone',
      5000,
    )
    for (const tag of tags) expect(hostProcesses(tag), tag).toEqual([])
    for (const root of roots) expect(hostProcesses(root), root).toEqual([])
  })
})
