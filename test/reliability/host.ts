/**
 * Host-side evidence for the reliability proofs: snapshots of folders (bytes, modes, link targets)
 * to compare before and after, and the host processes of a sandbox.
 */
import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { SandboxBackend } from '../../src/backend.js'
import { bwrapAvailable } from '../../src/local/isolation.js'

export const hasBwrap = bwrapAvailable()
/**
 * Without bubblewrap the local backend runs plain host processes that see host paths, and the
 * session's own helper commands (realpath, the atomic `mv` of writeFile, `cd` of list_files) then
 * miss /workspace: see test/reliability/known-bugs.test.ts. Proofs that need the session's file tools
 * on the local backend run with bubblewrap only.
 */
export const NO_BWRAP_REASON =
  'bubblewrap is not usable here; the session file tools need it on the local backend (known-bugs.test.ts)'

export type Snapshot = Map<string, string>

/**
 * Every entry under `root` (not following links): its kind, mode and bytes (sha256) or link target.
 * `skip` lists relative paths left out (with everything under them).
 */
export function snapshot(root: string, skip: readonly string[] = []): Snapshot {
  const out: Snapshot = new Map()
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      const relPath = rel ? `${rel}/${name}` : name
      if (skip.includes(relPath)) continue
      const stat = lstatSync(path)
      const mode = (stat.mode & 0o7777).toString(8)
      if (stat.isSymbolicLink()) out.set(relPath, `link ${mode} -> ${readlinkSync(path)}`)
      else if (stat.isDirectory()) {
        out.set(relPath, `dir ${mode}`)
        walk(path, relPath)
      } else out.set(relPath, `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`)
    }
  }
  walk(root, '')
  return out
}

/** The differences between two snapshots, readable in a failure message. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = []
  for (const [path, was] of before) {
    const now = after.get(path)
    if (now === undefined) out.push(`removed ${path}`)
    else if (now !== was) out.push(`changed ${path}: ${was} → ${now}`)
  }
  for (const path of after.keys()) if (!before.has(path)) out.push(`added ${path}`)
  return out
}

/** Host pids whose command line contains `needle`. */
export function hostProcesses(needle: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').includes(needle)
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Waits until `check()` holds (or throws after `ms`). */
export async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * A backend whose every call fails at once and is counted: for inputs that must be refused before
 * the sandbox is touched (no process, no file, nothing to clean up).
 */
export function unreachableBackend(): SandboxBackend & { calls: string[] } {
  const calls: string[] = []
  return new Proxy({ calls } as unknown as SandboxBackend & { calls: string[] }, {
    get(target, prop) {
      if (prop === 'calls') return calls
      if (prop === 'then') return undefined
      if (prop === 'destroy') return async () => {}
      if (typeof prop === 'string') {
        return async () => {
          calls.push(String(prop))
          throw Object.assign(new Error(`backend.${String(prop)} was reached`), { code: 'BACKEND_REACHED' })
        }
      }
      return Reflect.get(target, prop)
    },
  })
}
