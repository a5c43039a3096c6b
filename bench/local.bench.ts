/**
 * P3 — exec round trip of LocalSandbox against raw spawns, sequentially, after a warm-up:
 *   none mode  vs `spawn('bash', ['-c', 'true'])`          goal ≤ 1.5×
 *   bwrap mode vs a raw `bwrap … bash -c true` spawn        goal ≤ +2 ms
 * Part of `npm run bench` (bench/run.ts); alone: npx tsx bench/local.bench.ts [runs]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localSandbox } from '../src/local/index.js'
import { bwrapAvailable, findTool } from '../src/local/isolation.js'
import { isMain, ms, progress, type Row, ratio, table, time } from './lib.js'

function spawnAndWait(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.resume()
    child.stderr.resume()
    child.once('error', reject)
    child.once('close', () => resolve())
  })
}

/** The environment's recommended minimal-root bwrap command line (shared/reference/environment.md §6). */
function rawBwrapArgs(work: string): string[] {
  return [
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
}

export async function benchExec(runs = 200): Promise<Row[]> {
  progress(`P3 exec round trip (${runs} runs)`)
  const rows: Row[] = []
  const rawSpawn = await time(runs, () => spawnAndWait('bash', ['-c', 'true']))

  const plain = localSandbox(`bench-none-${process.pid}`, { isolation: 'none' })
  const none = await time(runs, () => plain.exec('true'))
  await plain.destroy()
  rows.push({
    id: 'P3',
    measure: "LocalSandbox none: exec('true'), median",
    value: ms(none.median),
    versus: `raw spawn('bash', ['-c', 'true']) ${ms(rawSpawn.median)}: ${ratio(none.median, rawSpawn.median)}`,
    goal: '≤ 1.5×',
  })

  if (bwrapAvailable()) {
    const work = mkdtempSync(join(tmpdir(), 'bench-bwrap-'))
    const rawBwrap = await time(runs, () => spawnAndWait(findTool('bwrap')!, rawBwrapArgs(work)))
    rmSync(work, { recursive: true })
    const jailed = localSandbox(`bench-bwrap-${process.pid}`, { isolation: 'bwrap' })
    const bwrap = await time(runs, () => jailed.exec('true'))
    await jailed.destroy()
    const delta = bwrap.median - rawBwrap.median
    rows.push({
      id: 'P3',
      measure: "LocalSandbox bwrap: exec('true'), median",
      value: ms(bwrap.median),
      versus: `raw bwrap … bash -c true ${ms(rawBwrap.median)}: ${delta >= 0 ? '+' : ''}${ms(delta)}`,
      goal: '≤ +2 ms',
    })
  } else {
    rows.push({
      id: 'P3',
      measure: 'LocalSandbox bwrap: exec',
      value: 'skipped: bubblewrap is not usable here',
    })
  }
  return rows
}

if (isMain(import.meta.url)) {
  console.log(table(await benchExec(Number(process.argv[2] ?? 200))))
}
