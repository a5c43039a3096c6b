/**
 * P2 — 50 MB of stdout through the `shell` tool on the local backend: how much the model receives,
 * how much this process's memory grows while it streams (sampled every 5 ms, after a GC), and the
 * wall time against a raw spawn of the same command with its output sent to /dev/null (on the host,
 * and inside the sandbox). The tool also saves the full output to a file in the sandbox (spill), so
 * the model can page through it: that write is part of its time.
 * Alone: npx tsx bench/output.bench.ts
 */
import { spawn } from 'node:child_process'
import { localSandbox } from '../src/local/index.js'
import { createSession } from '../src/session.js'
import { runTool, shell } from '../src/tools/index.js'
import { gc, isMain, kib, mib, ms, peakGrowth, progress, type Row, ratio, table, wall } from './lib.js'

const BYTES = 50_000_000
const COMMAND = `yes 'a line of build output, 42 bytes long...' | head -c ${BYTES}`

/** The run with the median peak memory growth of three. */
async function median3<T>(task: () => Promise<T>): Promise<{ peak: number; value: T }> {
  const runs = []
  for (let i = 0; i < 3; i++) runs.push(await peakGrowth(task))
  runs.sort((a, b) => a.peak - b.peak)
  return runs[1]!
}

/** Reads a stream to its end, keeping nothing. */
async function drain(stream: Promise<ReadableStream<Uint8Array>>): Promise<number> {
  let bytes = 0
  for await (const chunk of await stream) bytes += chunk.byteLength
  return bytes
}

function raw(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('close', () => resolve())
  })
}

export async function benchOutput(): Promise<Row[]> {
  progress('P2 50 MB of stdout through shell')
  const sandbox = localSandbox(`bench-p2-${process.pid}`)
  const session = createSession({ sandbox: () => sandbox })
  try {
    await session.exec('true')
    // warm both paths once (page cache, JIT)
    await raw(`${COMMAND} > /dev/null`)
    await runTool(shell, session, { command: 'yes | head -c 1000000' })

    const host = await wall(() => raw(`${COMMAND} > /dev/null`))
    const inside = await wall(() => sandbox.exec(`${COMMAND} > /dev/null`))
    const hasGc = gc()
    // memory figures are the median of 3 runs (when the collector runs moves single figures a lot)
    // the local backend runs in this process: its own share (pipes, SSE frames) drained without the tool
    const backendOnly = await median3(() => wall(() => drain(sandbox.execStream(COMMAND))))
    const small = await median3(() =>
      runTool(shell, session, { command: COMMAND.replace(String(BYTES), String(BYTES / 10)) }),
    )
    const { peak, value: tool } = await median3(() =>
      wall(() => runTool(shell, session, { command: COMMAND })),
    )
    const noSpill = createSession({ sandbox: () => sandbox, spillOutput: false })
    const unspilled = await median3(() => wall(() => runTool(shell, noSpill, { command: COMMAND })))
    const text = tool.value.text
    const received = new TextEncoder().encode(text).length
    const exit = /\[exit code: (\d+)\]/.exec(text)?.[1]
    const spilled = /full output is in (\S+)/.exec(text)?.[1]
    return [
      {
        id: 'P2',
        measure: 'shell, 50 MB stdout: what the model receives',
        value: kib(received),
        versus: `${mib(BYTES)} printed; exit code ${exit ?? 'LOST'} kept${spilled ? ', full output saved to a file' : ''}`,
        goal: '≤ 16 KiB',
      },
      {
        id: 'P2',
        measure: 'shell, 50 MB stdout: peak memory growth of this process',
        value: mib(peak),
        versus:
          `5 MB: ${mib(small.peak)}; spillOutput false: ${mib(unspilled.peak)}; ` +
          `the in-process local backend's stream alone: ${mib(backendOnly.peak)} ` +
          `(heap + external, sampled every 5 ms, median of 3${hasGc ? ', after a GC' : ', no GC available'}; uncollected garbage counts)`,
        goal: '≤ 8 MiB',
      },
      {
        id: 'P2',
        measure: 'shell, 50 MB stdout: wall time',
        value: ms(tool.ms),
        versus:
          `raw spawn to /dev/null: host ${ms(host.ms)} (${ratio(tool.ms, host.ms)}), in the sandbox ${ms(inside.ms)}; ` +
          `backend stream drained, no tool: ${ms(backendOnly.value.ms)} (${ratio(tool.ms, backendOnly.value.ms)}); ` +
          `spillOutput false: ${ms(unspilled.value.ms)}`,
        goal: '≤ 1.3×',
      },
    ]
  } finally {
    await session.destroy()
  }
}

if (isMain(import.meta.url)) {
  console.log(table(await benchOutput()))
}
