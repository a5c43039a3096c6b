/**
 * P6 — side by side with `@cloudflare/sandbox/openai` (the SDK's own Shell and Editor for the OpenAI
 * Agents SDK) over the same local backend: for each task, how many characters reach the model and
 * whether what it needs survives (the exit code, the error line, the output's end, the reason of a
 * failure). Ours: `SandboxShell` / `SandboxEditor` of `sandbox-agent-tools/openai`.
 *
 * `@cloudflare/sandbox/openai` loads in Node (dist/openai/index.js imports only @openai/agents and the
 * SDK's logger); it takes the sandbox object and calls `exec`, `readFile`, `writeFile`, `mkdir` and
 * `deleteFile` on it, which the local backend provides. Its logger writes to the console: silenced here.
 * Alone: npx tsx bench/cf-openai.bench.ts
 */
import type { ApplyPatchResult, ShellResult } from '@openai/agents'
import { SandboxEditor, SandboxShell } from '../adapters/openai/index.js'
import type { SandboxBackend } from '../src/backend.js'
import { localSandbox } from '../src/local/index.js'
import { createSession } from '../src/session.js'
import { isMain, progress, type Row, table } from './lib.js'

type Shell = { run(action: { commands: string[]; timeoutMs?: number }): Promise<ShellResult> }
type Editor = {
  updateFile(op: { type: 'update_file'; path: string; diff: string }): Promise<ApplyPatchResult>
  createFile(op: { type: 'create_file'; path: string; diff: string }): Promise<ApplyPatchResult>
}

/** What the model reads of a shell result: the entries as the SDK sends them (JSON). */
const shellText = (r: ShellResult) => JSON.stringify(r.output)

interface ShellTask {
  name: string
  command: string
  timeoutMs?: number
  /** The information the model needs, each with a test on what it receives. */
  needs: [string, (text: string, result: ShellResult) => boolean][]
}

const ERROR_LINE = 'error TS2322: Type string is not assignable to type number'
const tasks: ShellTask[] = [
  {
    name: 'large output (7 MB build log, one error line in the middle, exit 2)',
    command: `seq 1 150000 | sed 's/^/compiling module /'; echo '${ERROR_LINE}' >&2; seq 150001 300000 | sed 's/^/compiling module /'; exit 2`,
    needs: [
      ['exit code 2', (_t, r) => r.output[0]?.outcome.type === 'exit' && r.output[0].outcome.exitCode === 2],
      ['the error line', (t) => t.includes(ERROR_LINE)],
      ['the last line', (t) => t.includes('compiling module 300000')],
    ],
  },
  {
    name: 'failing test run (traceback on stderr, exit 1)',
    command: `for i in $(seq 1 3000); do echo "test_$i ... ok"; done; python3 -c "def f(): raise ValueError('expected 3, got 4')
f()"`,
    needs: [
      ['exit code 1', (_t, r) => r.output[0]?.outcome.type === 'exit' && r.output[0].outcome.exitCode === 1],
      ['the error line', (t) => t.includes('ValueError: expected 3, got 4')],
    ],
  },
  {
    name: '`echo c; exit 3`',
    command: 'echo c; exit 3',
    needs: [
      ['exit code 3', (_t, r) => r.output[0]?.outcome.type === 'exit' && r.output[0].outcome.exitCode === 3],
      ['its output', (t) => t.includes('c\\n')],
    ],
  },
  {
    name: 'timeout (`echo partial; sleep 30`, 1 s)',
    command: 'echo partial; sleep 30',
    timeoutMs: 1000,
    needs: [
      ['reported as a timeout', (_t, r) => r.output[0]?.outcome.type === 'timeout'],
      ['the partial output', (t) => t.includes('partial')],
    ],
  },
]

export async function benchCloudflareOpenAI(): Promise<Row[]> {
  progress('P6 @cloudflare/sandbox/openai vs ours')
  let cf: { Shell: new (sandbox: unknown) => Shell; Editor: new (sandbox: unknown, root?: string) => Editor }
  try {
    cf = (await import('@cloudflare/sandbox/openai')) as unknown as typeof cf
  } catch (error) {
    return [
      {
        id: 'P6',
        measure: '@cloudflare/sandbox/openai',
        value: 'not measured',
        versus: `it does not load in Node: ${(error as Error).message.split('\n')[0]}`,
      },
    ]
  }
  const rows: Row[] = []
  const sandbox = localSandbox(`bench-p6-${process.pid}`)
  const session = createSession({ sandbox: () => sandbox })
  const quiet = silence()
  try {
    await session.exec('true')
    const theirs = new cf.Shell(sandbox)
    const ours = new SandboxShell(session)
    for (const task of tasks) {
      const action = { commands: [task.command], ...(task.timeoutMs ? { timeoutMs: task.timeoutMs } : {}) }
      const a = await theirs.run(action)
      const b = await ours.run(action)
      const [ta, tb] = [shellText(a), shellText(b)]
      const kept = (text: string, r: ShellResult) =>
        task.needs.map(([what, test]) => `${test(text, r) ? '✓' : '✗'} ${what}`).join(', ')
      rows.push({
        id: 'P6',
        measure: `shell: ${task.name}`,
        value: `ours ${ta === tb ? '=' : ''}${chars(tb)}: ${kept(tb, b)}`,
        versus: `@cloudflare/sandbox/openai ${chars(ta)}: ${kept(ta, a)}`,
      })
    }

    // a sandbox error (the container is not there): does the reason reach the model?
    const broken = brokenBackend()
    const a = await new cf.Shell(broken).run({ commands: ['ls'] })
    const brokenSession = createSession({ sandbox: () => broken, retry: { retries: 0 } })
    const b = await new SandboxShell(brokenSession).run({ commands: ['ls'] })
    const says = (r: ShellResult) =>
      /Container is not running|CONTAINER_UNAVAILABLE/.test(shellText(r)) ? '✓' : '✗'
    rows.push({
      id: 'P6',
      measure: 'shell: the container is unavailable',
      value: `ours ${chars(shellText(b))}: ${says(b)} the reason`,
      versus: `@cloudflare/sandbox/openai ${chars(shellText(a))}: ${says(a)} the reason (${JSON.stringify(a.output[0]?.outcome)})`,
    })

    // the editor: a hunk that does not match, and a path outside the workspace
    await session.writeFile('app.py', 'def add(a, b):\n    return a + b\n')
    const theirEditor = new cf.Editor(sandbox, '/workspace')
    const ourEditor = new SandboxEditor(session)
    const badHunk = {
      type: 'update_file' as const,
      path: 'app.py',
      diff: '@@\n-    return a - b\n+    return a * b\n',
    }
    const ea = await settle(() => theirEditor.updateFile(badHunk))
    const eb = await settle(() => ourEditor.updateFile(badHunk))
    const names = (text: string) =>
      `${/app\.py/.test(text) ? '✓' : '✗'} the file, ${/return a - b/.test(text) ? '✓' : '✗'} the line that does not match, ${/read_file|Re-read/i.test(text) ? '✓' : '✗'} what to do`
    rows.push({
      id: 'P6',
      measure: 'editor: a hunk that does not match the file',
      value: `ours ${chars(eb)}: ${names(eb)}`,
      versus: `@cloudflare/sandbox/openai ${chars(ea)}: ${names(ea)}`,
    })
    const outside = { type: 'create_file' as const, path: '../workspace-secrets/key.txt', diff: '+stolen\n' }
    const their = (theirEditor as unknown as { resolve(p: string): string }).resolve(outside.path)
    const ob = await settle(() => ourEditor.createFile(outside))
    rows.push({
      id: 'P6',
      measure: `editor: create ${outside.path}`,
      value: `ours: ${/Refused path/.test(ob) ? `refused: ${/Refused path "[^"]*": ([^\n]*)/.exec(ob)?.[1]}` : `ACCEPTED (${ob})`}`,
      versus: `@cloudflare/sandbox/openai resolves it to ${their}: ${their.startsWith('/workspace/') ? 'inside' : 'outside the workspace, accepted'}`,
    })
  } finally {
    quiet()
    await session.destroy()
  }
  return rows
}

const chars = (text: string) => `${text.length.toLocaleString('en')} chars`

/** The text of an editor result, or of the error it threw (the SDK would hand that to the model). */
async function settle(fn: () => Promise<ApplyPatchResult>): Promise<string> {
  try {
    const r = await fn()
    return `${r.status}: ${r.output ?? ''}`
  } catch (error) {
    return `thrown: ${(error as Error).message}`
  }
}

/** A sandbox whose every call fails as a container that is not running does. */
function brokenBackend(): SandboxBackend {
  const fail = async () => {
    throw Object.assign(new Error('Container is not running (CONTAINER_UNAVAILABLE)'), {
      code: 'CONTAINER_UNAVAILABLE',
    })
  }
  return new Proxy({} as SandboxBackend, {
    get: (_t, prop) => (prop === 'then' ? undefined : prop === 'destroy' ? async () => {} : fail),
  })
}

/** Silences console output (the SDK's logger); returns the restore function. */
function silence(): () => void {
  const saved = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
  }
  for (const key of Object.keys(saved) as (keyof typeof saved)[]) console[key] = () => {}
  return () => Object.assign(console, saved)
}

if (isMain(import.meta.url)) {
  console.log(table(await benchCloudflareOpenAI()))
}
