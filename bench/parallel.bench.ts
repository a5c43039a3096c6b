/**
 * P7 — 16 shell calls at once on one session against one call: the session must not serialize
 * commands (each runs sessionless, with the tracked cwd/env). Two commands: one that waits
 * (`sleep 0.3`, where parallel calls overlap fully) and one that only starts a process (`echo`,
 * bounded by how many processes this machine starts per second). Medians of 5 rounds.
 * Alone: npx tsx bench/parallel.bench.ts
 */
import { localSandbox } from '../src/local/index.js'
import { createSession } from '../src/session.js'
import { runTool, shell } from '../src/tools/index.js'
import { isMain, ms, progress, type Row, ratio, table, wall } from './lib.js'

const ROUNDS = 5

async function median(task: () => Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < ROUNDS; i++) times.push((await wall(task)).ms)
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!
}

export async function benchParallel(): Promise<Row[]> {
  progress('P7 16 parallel shell calls vs one')
  const sandbox = localSandbox(`bench-p7-${process.pid}`)
  const session = createSession({ sandbox: () => sandbox })
  const rows: Row[] = []
  try {
    await session.exec('true')
    for (const command of ['sleep 0.3; echo done', 'echo done']) {
      const call = async () => {
        const out = await runTool(shell, session, { command })
        if (!out.text.includes('done')) throw new Error(`unexpected: ${out.text}`)
      }
      await call()
      const one = await median(call)
      const sixteen = await median(() => Promise.all(Array.from({ length: 16 }, call)))
      rows.push({
        id: 'P7',
        measure: `16 parallel shell calls, one session: \`${command}\``,
        value: ms(sixteen),
        versus: `one call ${ms(one)}: ${ratio(sixteen, one)}`,
        goal: '≤ 1.5×',
      })
    }
  } finally {
    await session.destroy()
  }
  return rows
}

if (isMain(import.meta.url)) {
  console.log(table(await benchParallel()))
}
