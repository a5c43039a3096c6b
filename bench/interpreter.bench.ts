/**
 * Warm code runs against cold interpreter starts: `runCode('1+1')` in a started context vs `python3 -c '1+1'`
 * (and the JavaScript pair, vs `node -e '1+1'`), plain processes, means printed with their ratio.
 * Goal: a warm run at least 10× faster than a cold start.
 *
 *   npx tsx bench/interpreter.bench.ts
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { CodeLanguage } from '../src/backend.js'
import { CodeInterpreter } from '../src/local/interpreter.js'

const PYTHON = '/usr/bin/python3'
const NODE = 'node'
const WARMUP = 5
const WARM_RUNS = 300
const COLD_RUNS = 30
const GOAL = 10

/** Mean milliseconds of `runs` calls of `task`, after a few unmeasured ones. */
async function meanMs(runs: number, task: () => unknown): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await task()
  const start = performance.now()
  for (let i = 0; i < runs; i++) await task()
  return (performance.now() - start) / runs
}

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
  console.log(
    `warm: mean of ${WARM_RUNS} runCode('1+1'); cold: mean of ${COLD_RUNS} spawnSync of the interpreter`,
  )
  for (const [language, [command, ...args]] of cases) {
    const context = await interpreter.createContext({ language })
    const warm = await meanMs(WARM_RUNS, async () => {
      const result = await interpreter.runCode('1+1', { context })
      if (result.results[0]?.text !== '2') throw new Error(`unexpected result: ${JSON.stringify(result)}`)
    })
    const cold = await meanMs(COLD_RUNS, () => {
      if (spawnSync(command!, args).status !== 0) throw new Error(`${command} failed`)
    })
    const ratio = cold / warm
    console.log(
      `${language.padEnd(10)} warm ${warm.toFixed(2).padStart(7)} ms   cold ${cold.toFixed(2).padStart(7)} ms   ` +
        `cold/warm ${ratio.toFixed(1).padStart(6)}×   goal ≥${GOAL}×: ${ratio >= GOAL ? 'met' : 'NOT met'}`,
    )
  }
} finally {
  await interpreter.destroy()
  rmSync(workdir, { recursive: true, force: true })
}
