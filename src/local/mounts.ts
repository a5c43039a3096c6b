import { lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { lstat, readlink } from 'node:fs/promises'
import { posix } from 'node:path'
import { LocalSandboxError } from './errors.js'

/**
 * The sandbox's file system, as one table used both to build the bubblewrap command line and to
 * translate the paths of the file API. The same table holds with and without bubblewrap, so
 * `/workspace/…`, `/tmp/…` and `/root/…` mean the same files in both modes.
 */
export interface Mount {
  /** Where the sandbox sees it. */
  at: string
  /** The host directory behind it. */
  host: string
  writable: boolean
}

/** A top-level symlink of the system (merged-/usr: `/bin` → `usr/bin`). */
export interface SystemLink {
  at: string
  target: string
}

export const WORKSPACE = '/workspace'

/** A path of /etc that only root may read, hidden from the sandbox (see {@link systemEntries}). */
export interface Hidden {
  at: string
  directory: boolean
}

interface SystemEntries {
  mounts: Mount[]
  links: SystemLink[]
  hidden: Hidden[]
}

let systemTable: SystemEntries | undefined

/**
 * Read-only system directories: /usr and /etc, plus /bin, /lib… as symlinks or directories.
 * Run as root, the sandbox's uid 0 is the host's root to the file system, so what in /etc is not
 * readable by everyone (password hashes, TLS and SSH private keys) is hidden: empty inside the
 * jail, absent for the file API.
 */
export function systemEntries(): SystemEntries {
  if (systemTable) return systemTable
  const mounts: Mount[] = [
    { at: '/usr', host: '/usr', writable: false },
    { at: '/etc', host: '/etc', writable: false },
  ]
  const links: SystemLink[] = []
  for (const at of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      if (lstatSync(at).isSymbolicLink()) links.push({ at, target: readlinkSync(at) })
      else mounts.push({ at, host: at, writable: false })
    } catch {
      // not on this host
    }
  }
  systemTable = { mounts, links, hidden: process.getuid?.() === 0 ? rootOnly('/etc') : [] }
  return systemTable
}

/** Files and folders under `dir` that others may not read (not descending into hidden folders). */
function rootOnly(dir: string): Hidden[] {
  const hidden: Hidden[] = []
  for (const name of readdirSync(dir)) {
    const at = `${dir}/${name}`
    const stat = lstatSync(at, { throwIfNoEntry: false })
    if (!stat || !(stat.isFile() || stat.isDirectory())) continue
    const directory = stat.isDirectory()
    if ((stat.mode & 0o004) === 0 || (directory && (stat.mode & 0o001) === 0)) hidden.push({ at, directory })
    else if (directory) hidden.push(...rootOnly(at))
  }
  return hidden
}

export interface Resolved {
  /** Normalised absolute sandbox path, symlinks resolved. */
  path: string
  /** The same file on the host. */
  host: string
  mount: Mount
}

const MAX_SYMLINKS = 40

/**
 * Translates sandbox paths to host paths. Symlinks are resolved the way the sandbox sees them:
 * an absolute link target is looked up in this table again, never on the host, so a link made
 * inside the sandbox (`ln -s /root/.ssh/id_rsa key`) cannot make the file API read host files.
 */
export class MountTable {
  readonly mounts: Mount[]
  readonly links: SystemLink[]
  readonly hidden: Hidden[]

  constructor(own: Mount[]) {
    const system = systemEntries()
    this.mounts = [...own, ...system.mounts]
    this.links = system.links
    this.hidden = system.hidden
  }

  /** Absolute, normalised sandbox path: relative paths are taken from /workspace. */
  static normalize(path: string): string {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) {
      throw new LocalSandboxError('VALIDATION_FAILED', `Invalid path: ${JSON.stringify(path)}`, {
        context: { path },
      })
    }
    return posix.resolve(WORKSPACE, path)
  }

  private mountOf(path: string): Mount | undefined {
    return this.mounts.find((m) => path === m.at || path.startsWith(`${m.at}/`))
  }

  /** Host path for a normalised sandbox path, lexically (no symlink resolution). */
  hostPath(path: string): { host: string; mount: Mount } | undefined {
    const mount = this.mountOf(path)
    return mount && { host: mount.host + path.slice(mount.at.length), mount }
  }

  /**
   * Resolves `path` component by component. Missing components are fine (the path may be about
   * to be created); `followLast: false` keeps a final symlink itself (delete, rename).
   */
  async resolve(path: string, options: { followLast: boolean }): Promise<Resolved> {
    let pending = MountTable.normalize(path).split('/').filter(Boolean)
    let current = '/'
    let hops = 0
    while (pending.length > 0) {
      const [name, ...rest] = pending as [string, ...string[]]
      pending = rest
      const next = posix.join(current, name)
      const isLast = pending.length === 0
      if (this.hidden.some((h) => h.at === next)) {
        throw new LocalSandboxError('FILE_NOT_FOUND', `File not found: ${path}`, { context: { path } })
      }
      let target = this.links.find((l) => l.at === next)?.target
      if (target === undefined) {
        const mapped = this.hostPath(next)
        if (!mapped) {
          if (next === '/' || this.mounts.some((m) => m.at.startsWith(`${next}/`))) {
            current = next
            continue
          }
          throw new LocalSandboxError('FILE_NOT_FOUND', `File not found: ${path}`, { context: { path } })
        }
        if (isLast && !options.followLast) return { path: next, ...mapped }
        const stat = await lstat(mapped.host).catch(() => undefined)
        if (!stat?.isSymbolicLink()) {
          current = next
          if (!stat) break
          continue
        }
        target = await readlink(mapped.host)
      }
      if (++hops > MAX_SYMLINKS) {
        throw new LocalSandboxError('FILESYSTEM_ERROR', `Too many levels of symbolic links: ${path}`, {
          context: { path },
        })
      }
      pending = [...target.split('/').filter(Boolean), ...pending]
      if (target.startsWith('/')) current = '/'
    }
    const final = posix.join(current, ...pending)
    const mapped = this.hostPath(final)
    if (!mapped)
      throw new LocalSandboxError('FILE_NOT_FOUND', `File not found: ${path}`, { context: { path } })
    return { path: final, ...mapped }
  }
}
