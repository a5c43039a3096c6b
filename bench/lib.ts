/**
 * What every benchmark module shares: the row of the one table `bench/run.ts` prints, timing and
 * memory helpers, and the table's formatting.
 */

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** One line of the table: a figure measured in this run, what it is compared with, the goal. */
export interface Row {
  /** P1…P7 */
  id: string
  measure: string
  value: string
  versus?: string
  goal?: string
}

/** A benchmark module: returns its rows (and prints nothing but progress on stderr). */
export type Bench = () => Promise<Row[]>

export interface Timing {
  median: number
  mean: number
  p95: number
}

/** Milliseconds per call of `task`: median, mean and p95 of `runs` calls after `warmup` unmeasured ones. */
export async function time(runs: number, task: () => unknown, warmup = Math.min(20, runs)): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await task()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await task()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!
  return { median: at(0.5), mean: times.reduce((a, b) => a + b, 0) / times.length, p95: at(0.95) }
}

/**
 * Two tasks timed in alternation (a, b, a, b…), so that load that comes and goes while they run weighs
 * on both alike: their medians, and the median of the per-pair differences (b − a).
 */
export async function timePair(
  runs: number,
  a: () => unknown,
  b: () => unknown,
  warmup = Math.min(20, runs),
): Promise<{ a: number; b: number; delta: number }> {
  for (let i = 0; i < warmup; i++) {
    await a()
    await b()
  }
  const ta: number[] = []
  const tb: number[] = []
  const diff: number[] = []
  for (let i = 0; i < runs; i++) {
    let start = performance.now()
    await a()
    const x = performance.now() - start
    start = performance.now()
    await b()
    const y = performance.now() - start
    ta.push(x)
    tb.push(y)
    diff.push(y - x)
  }
  const median = (v: number[]) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)]!
  return { a: median(ta), b: median(tb), delta: median(diff) }
}

/** Wall milliseconds of one run of `task`. */
export async function wall<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now()
  const value = await task()
  return { ms: performance.now() - start, value }
}

let gcFunction: (() => void) | undefined | null = null

/** A full garbage collection, when it can be had (`--expose-gc`, or the V8 flag set at run time). */
export function gc(): boolean {
  if (gcFunction === null) {
    gcFunction = (globalThis as { gc?: () => void }).gc
    if (!gcFunction) {
      try {
        setFlagsFromString('--expose-gc')
        gcFunction = runInNewContext('gc') as () => void
      } catch {
        gcFunction = undefined
      }
    }
  }
  gcFunction?.()
  return gcFunction !== undefined
}

/** JS heap + array buffers + external memory of this process, in bytes. */
export function memory(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

/** Runs `task` while sampling memory every `everyMs`: the peak growth over the start (after a GC). */
export async function peakGrowth<T>(
  task: () => Promise<T>,
  everyMs = 5,
): Promise<{ peak: number; value: T }> {
  gc()
  const base = memory()
  let peak = 0
  const timer = setInterval(() => {
    peak = Math.max(peak, memory() - base)
  }, everyMs)
  try {
    const value = await task()
    peak = Math.max(peak, memory() - base)
    return { peak, value }
  } finally {
    clearInterval(timer)
  }
}

export const us = (ms: number) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`)
export const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`

/** The rows as one Markdown table. */
export function table(rows: Row[]): string {
  const header = ['', 'measure', 'value', 'compared with', 'goal']
  const cells = rows.map((r) => [r.id, r.measure, r.value, r.versus ?? '', r.goal ?? ''])
  const all = [header, ...cells].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')))
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)))
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [
    line(all[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...all.slice(1).map(line),
  ].join('\n')
}

/** Progress for whoever watches the run (stderr: the table alone goes to stdout). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}

/** Whether a bench module is run by itself (`npx tsx bench/x.bench.ts`) rather than imported. */
export function isMain(url: string): boolean {
  const entry = process.argv[1]
  return entry !== undefined && url === new URL(`file://${entry}`).href
}
