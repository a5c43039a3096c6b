/**
 * P1 — tool-layer overhead per call: a tool called through `runTool` (validation, path containment,
 * session deadline and retry wrappers, output shaping, the command wrapper and its state tracking)
 * against the backend method it ends in, called directly.
 *
 * Twice: over an instant in-memory backend (every call answers at once, so the difference is the
 * tool layer's own CPU cost) and over the local backend (what a call really costs; there the
 * in-sandbox realpath check of `checkSymlinks` is one more command per path).
 * Alone: npx tsx bench/overhead.bench.ts [runs]
 */
import type { ExecEvent, SandboxBackend } from '../src/backend.js'
import { localSandbox } from '../src/local/index.js'
import { createSession } from '../src/session.js'
import { readFile, runTool, shell } from '../src/tools/index.js'
import { isMain, progress, type Row, table, time, timePair, us } from './lib.js'

const encoder = new TextEncoder()
const sse = (events: Partial<ExecEvent>[]) =>
  encoder.encode(events.map((e) => `data: ${JSON.stringify({ timestamp: '', ...e })}\n\n`).join(''))

/**
 * A backend that answers every call at once from memory. `exec` answers `realpath -m -- <p>` with
 * `<p>` (no links), `execStream` a command that printed "ok" and exited 0.
 */
export function instantBackend(): SandboxBackend {
  const files = new Map<string, string>([['/workspace/notes.txt', 'one\ntwo\nthree\n']])
  const now = new Date().toISOString()
  const backend = {
    async exec(command: string) {
      const m = /^realpath -m -- '?(.*?)'?$/.exec(command)
      return {
        success: true,
        exitCode: 0,
        stdout: m ? `${m[1]}\n` : '',
        stderr: '',
        command,
        duration: 0,
        timestamp: now,
      }
    },
    async execStream() {
      const body = sse([
        { type: 'start' },
        { type: 'stdout', data: 'ok\n' },
        { type: 'complete', exitCode: 0 },
      ])
      return new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(body)
          controller.close()
        },
      })
    },
    async readFile(path: string) {
      const content = files.get(path)
      if (content === undefined) throw Object.assign(new Error('not found'), { code: 'FILE_NOT_FOUND' })
      return {
        success: true,
        path,
        content,
        timestamp: now,
        encoding: 'utf-8',
        isBinary: false,
        mimeType: 'text/plain',
        size: content.length,
      }
    },
    async exists(path: string) {
      return { success: true, exists: files.has(path), path, timestamp: now }
    },
    async destroy() {},
  }
  return backend as unknown as SandboxBackend
}

export async function benchOverhead(runs = 2000): Promise<Row[]> {
  const rows: Row[] = []

  progress(`P1 tool-layer overhead, instant backend (${runs} runs)`)
  for (const checkSymlinks of [false, true]) {
    const backend = instantBackend()
    const session = createSession({ sandbox: () => backend, checkSymlinks })
    await session.exec('true')
    const direct = await time(runs, () => backend.readFile('/workspace/notes.txt'), 200)
    const tool = await time(runs, () => runTool(readFile, session, { path: 'notes.txt' }), 200)
    rows.push({
      id: 'P1',
      measure: `read_file via runTool, instant backend, checkSymlinks ${checkSymlinks}`,
      value: `${us(tool.median)}/call`,
      versus: `backend.readFile ${us(direct.median)}: overhead ${us(tool.median - direct.median)}`,
      goal: '≤ 50 µs',
    })
    if (!checkSymlinks) {
      const execDirect = await time(runs, () => backend.execStream('true'), 200)
      const execTool = await time(runs, () => runTool(shell, session, { command: 'true' }), 200)
      rows.push({
        id: 'P1',
        measure: 'shell via runTool, instant backend',
        value: `${us(execTool.median)}/call`,
        versus: `backend.execStream ${us(execDirect.median)}: overhead ${us(execTool.median - execDirect.median)}`,
        goal: '≤ 50 µs',
      })
    }
    await session.destroy()
  }

  const localRuns = Math.max(50, Math.floor(runs / 20))
  progress(`P1 tool-layer overhead, local backend (${localRuns}+ runs, alternating)`)
  const sandbox = localSandbox(`bench-p1-${process.pid}`)
  for (const checkSymlinks of [false, true]) {
    const session = createSession({ sandbox: () => sandbox, checkSymlinks })
    await session.writeFile('notes.txt', 'one\ntwo\nthree\n')
    // without the realpath command a call is cheap: more runs to steady the median
    const read = await timePair(
      checkSymlinks ? localRuns : localRuns * 5,
      () => sandbox.readFile('/workspace/notes.txt'),
      () => runTool(readFile, session, { path: 'notes.txt' }),
    )
    rows.push({
      id: 'P1',
      measure: `read_file via runTool, local ${sandbox.isolation}, checkSymlinks ${checkSymlinks}`,
      value: `${us(read.b)}/call`,
      versus: `backend.readFile ${us(read.a)}: overhead ${us(read.delta)}${checkSymlinks ? ' (one realpath command)' : ''}`,
      goal: '≤ 50 µs',
    })
    if (!checkSymlinks) {
      const exec = await timePair(
        localRuns,
        () => sandbox.exec('true'),
        () => runTool(shell, session, { command: 'true' }),
      )
      rows.push({
        id: 'P1',
        measure: `shell via runTool, local ${sandbox.isolation}`,
        value: `${us(exec.b)}/call`,
        versus: `backend.exec('true') ${us(exec.a)}: +${us(exec.delta)} (timeout + bash wrapper, state capture)`,
      })
    }
  }
  await sandbox.destroy()
  return rows
}

if (isMain(import.meta.url)) {
  console.log(table(await benchOverhead(Number(process.argv[2] ?? 2000))))
}
