/**
 * P4 — warm code runs against cold interpreter starts: `runCode('1+1')` in a started context vs
 * `python3 -c '1+1'` (and the JavaScript pair, vs `node -e '1+1'`), plain processes, means compared.
 * Goal: a warm run at least 10× faster than a cold start.
 * Part of `npm run bench` (bench/run.ts); alone: npx tsx bench/interpreter.bench.ts
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CodeLanguage } from '../src/backend.js'
import { CodeInterpreter } from '../src/local/interpreter.js'
import { isMain, ms, progress, type Row, table, time } from './lib.js'

const PYTHON = '/usr/bin/python3'
const NODE = process.execPath

export async function benchInterpreter(warmRuns = 300, coldRuns = 30): Promise<Row[]> {
  progress(`P4 warm run_code vs cold interpreter (${warmRuns} warm, ${coldRuns} cold)`)
  const rows: Row[] = []
  const workdir = mkdtempSync(join(tmpdir(), 'interpreter-bench-'))
  const interpreter = new CodeInterpreter({
    spawn: (argv, { cwd, env }) => spawn(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, ...env } }),
    workdir,
    python: PYTHON,
    node: NODE,
  })
  const cases: [CodeLanguage, string[]][] = [
    ['python', [PYTHON, '-c', '1+1']],
    ['javascript', [NODE, '-e', '1+1']],
  ]
  try {
    for (const [language, [command, ...args]] of cases) {
      const context = await interpreter.createContext({ language })
      const warm = await time(
        warmRuns,
        async () => {
          const result = await interpreter.runCode('1+1', { context })
          if (result.results[0]?.text !== '2') throw new Error(`unexpected result: ${JSON.stringify(result)}`)
        },
        5,
      )
      const cold = await time(
        coldRuns,
        () => {
          if (spawnSync(command!, args).status !== 0) throw new Error(`${command} failed`)
        },
        5,
      )
      rows.push({
        id: 'P4',
        measure: `warm run_code('1+1'), ${language}, mean`,
        value: ms(warm.mean),
        versus: `cold ${language === 'python' ? 'python3 -c' : 'node -e'} ${ms(cold.mean)}: ${(cold.mean / warm.mean).toFixed(1)}× faster`,
        goal: '≥ 10× faster',
      })
    }
  } finally {
    await interpreter.destroy()
    rmSync(workdir, { recursive: true, force: true })
  }
  return rows
}

if (isMain(import.meta.url)) {
  console.log(table(await benchInterpreter()))
}
