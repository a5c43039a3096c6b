/**
 * `npm run bench`: every benchmark in one run, one table of figures and ratios (no pass/fail),
 * printed and written to bench/results.md with the machine it ran on.
 *
 *   P1 tool-layer overhead per call          bench/overhead.bench.ts
 *   P2 50 MB of stdout through shell         bench/output.bench.ts
 *   P3 exec round trip of the local backend  bench/local.bench.ts
 *   P4 warm run_code vs a cold interpreter   bench/interpreter.bench.ts
 *   P5 adapter and Worker bundle sizes       bench/size.bench.ts
 *   P6 vs @cloudflare/sandbox/openai         bench/cf-openai.bench.ts
 *   P7 16 parallel shell calls vs one        bench/parallel.bench.ts
 *
 * Each module also runs alone: `npx tsx bench/<name>.bench.ts`.
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus, release, totalmem } from 'node:os'
import { bwrapAvailable } from '../src/local/isolation.js'
import { benchCloudflareOpenAI } from './cf-openai.bench.js'
import { benchInterpreter } from './interpreter.bench.js'
import { type Bench, gc, progress, type Row, table } from './lib.js'
import { benchExec } from './local.bench.js'
import { benchOutput } from './output.bench.js'
import { benchOverhead } from './overhead.bench.js'
import { benchParallel } from './parallel.bench.js'
import { benchSize } from './size.bench.js'

const benches: [string, Bench][] = [
  ['P1', () => benchOverhead()],
  ['P2', () => benchOutput()],
  ['P3', () => benchExec()],
  ['P4', () => benchInterpreter()],
  ['P5', () => benchSize()],
  ['P6', () => benchCloudflareOpenAI()],
  ['P7', () => benchParallel()],
]

const started = Date.now()
const rows: Row[] = []
for (const [id, bench] of benches) {
  try {
    rows.push(...(await bench()))
  } catch (error) {
    rows.push({
      id,
      measure: 'failed to run',
      value: String((error as Error).message ?? error).split('\n')[0]!,
    })
  }
}

const machine = [
  `${availableParallelism()} CPUs (nproc; ${cpus()[0]?.model.trim() ?? 'unknown CPU'})`,
  `${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory`,
  `Linux ${release()}`,
  `Node ${process.version}`,
  `local backend isolation: ${bwrapAvailable() ? 'bwrap (bubblewrap)' : 'none (plain host processes)'}`,
  `GC for memory figures: ${gc() ? 'yes' : 'no'}`,
].join(', ')
const output = [
  `Benchmarks of sandbox-agent-tools, ${new Date(started).toISOString().slice(0, 10)}, one run of \`npm run bench\` (${((Date.now() - started) / 1000).toFixed(0)} s).`,
  `Machine: ${machine}.`,
  '',
  table(rows),
  '',
].join('\n')
console.log(output)
writeFileSync(new URL('./results.md', import.meta.url), `# Benchmark results\n\n${output}`)
progress('written to bench/results.md')
