/**
 * Exec round trip of LocalSandbox against raw spawns, sequentially, after a warm-up:
 *   none mode  vs `spawn('bash', ['-c', 'true'])`          goal ≤ 1.5×
 *   bwrap mode vs a raw `bwrap … bash -c true` spawn        goal ≤ +2 ms
 * Run: npx tsx bench/local.bench.ts [runs]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localSandbox } from '../src/local/index.js'
import { bwrapAvailable, findTool } from '../src/local/isolation.js'

const runs = Number(process.argv[2] ?? 200)
const warmup = 20

function spawnAndWait(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.resume()
    child.stderr.resume()
    child.once('error', reject)
    child.once('close', () => resolve())
  })
}

interface Stats {
  mean: number
  median: number
  p95: number
}

async function measure(run: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await run()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await run()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!
  return { mean: times.reduce((a, b) => a + b, 0) / times.length, median: at(0.5), p95: at(0.95) }
}

const rows: { name: string; stats: Stats; versus: string }[] = []
const fmt = (ms: number) => `${ms.toFixed(2)} ms`

const rawSpawn = await measure(() => spawnAndWait('bash', ['-c', 'true']))
rows.push({ name: "raw spawn('bash', ['-c', 'true'])", stats: rawSpawn, versus: '' })

const plain = localSandbox(`bench-none-${process.pid}`, { isolation: 'none' })
const none = await measure(() => plain.exec('true'))
await plain.destroy()
rows.push({
  name: "LocalSandbox none: exec('true')",
  stats: none,
  versus: `${(none.median / rawSpawn.median).toFixed(2)}× raw spawn (goal ≤ 1.5×)`,
})

if (bwrapAvailable()) {
  const work = mkdtempSync(join(tmpdir(), 'bench-bwrap-'))
  // the environment's recommended minimal-root command line (shared/reference/environment.md §6)
  const rawArgs = [
    '--unshare-all',
    '--die-with-parent',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--ro-bind',
    '/etc',
    '/etc',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--bind',
    work,
    '/workspace',
    '--chdir',
    '/workspace',
    'bash',
    '-c',
    'true',
  ]
  const rawBwrap = await measure(() => spawnAndWait(findTool('bwrap')!, rawArgs))
  rmSync(work, { recursive: true })
  rows.push({ name: 'raw bwrap … bash -c true', stats: rawBwrap, versus: '' })

  const jailed = localSandbox(`bench-bwrap-${process.pid}`, { isolation: 'bwrap' })
  const bwrap = await measure(() => jailed.exec('true'))
  await jailed.destroy()
  const delta = bwrap.median - rawBwrap.median
  rows.push({
    name: "LocalSandbox bwrap: exec('true')",
    stats: bwrap,
    versus: `${delta >= 0 ? '+' : ''}${fmt(delta)} vs raw bwrap, ${(bwrap.median / rawBwrap.median).toFixed(2)}× (goal ≤ +2 ms)`,
  })
} else {
  console.log('bubblewrap is not usable here: bwrap rows skipped')
}

console.log(`\nexec round trip, ${runs} runs after ${warmup} warm-up, node ${process.version}\n`)
const header = ['', 'median', 'mean', 'p95', 'comparison']
const table = [
  header,
  ...rows.map((r) => [r.name, fmt(r.stats.median), fmt(r.stats.mean), fmt(r.stats.p95), r.versus]),
]
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '))
