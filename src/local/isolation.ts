/**
 * How sandboxed processes are started.
 *
 * bwrap mode — one long-lived bubblewrap "jail" per sandbox, like a container: `bwrap
 * --unshare-all --as-pid-1 … <init>` holds a user, mount, pid, ipc, uts, cgroup (and, unless
 * `allowNetwork`, net) namespace with a read-only /usr and /etc, /workspace, /tmp and /root bound
 * to host folders, and its own /proc. Every command then *enters* it with `nsenter` (cheaper than
 * a new bwrap per command: no mount set-up) followed by `setpriv`, which drops every capability
 * and sets no_new_privs — the entering process would otherwise keep the full capability set of
 * the jail's user namespace — and makes the command die with its nsenter parent. Because all
 * commands share the jail's namespaces, a server started by `startProcess` is reachable with
 * `curl localhost` from a later `exec`, `ps` shows the sandbox's processes, and background jobs
 * outlive the command that started them, as in the container. Killing the jail (destroy, or the
 * host process dying: `--die-with-parent`) kills its pid namespace, hence every process in it.
 *
 * none mode — plain host processes in the workspace folder. There is no containment: commands
 * see the host file system, so an absolute path inside a command (`cat /workspace/a`) means the
 * HOST path; use relative paths (cwd is the workspace) or `$HOME`/`$TMPDIR`. The file API and
 * `exec`'s `cwd` still translate /workspace, /tmp and /root to the sandbox's folders.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readlinkSync, realpathSync } from 'node:fs'
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import { type MountTable, systemEntries, WORKSPACE } from './mounts.js'

export type IsolationMode = 'bwrap' | 'none'

/** Per-sandbox resource limits. */
export interface SandboxLimits {
  /** Bytes of memory: the whole sandbox (memory cgroup) when available, else per process (RLIMIT_DATA). */
  memory?: number
  /** Processes (and threads): the whole sandbox (pids cgroup) when available, else RLIMIT_NPROC. */
  processes?: number
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds?: number
}

const toolCache = new Map<string, string | undefined>()

/** Absolute path of a system tool, looked up once in the usual directories. */
export function findTool(name: string): string | undefined {
  if (!toolCache.has(name)) {
    const dir = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].find((d) =>
      existsSync(`${d}/${name}`),
    )
    toolCache.set(name, dir && `${dir}/${name}`)
  }
  return toolCache.get(name)
}

let bwrapWorks: boolean | undefined

/** Whether bubblewrap (with nsenter and setpriv to enter its jail) works here; probed once. */
export function bwrapAvailable(): boolean {
  if (bwrapWorks === undefined) {
    const bwrap = findTool('bwrap')
    bwrapWorks =
      process.platform === 'linux' &&
      bwrap !== undefined &&
      findTool('nsenter') !== undefined &&
      findTool('setpriv') !== undefined &&
      spawnSync(bwrap, ['--unshare-all', '--die-with-parent', ...systemArgs(), '--', 'true'], {
        stdio: 'ignore',
        timeout: 10_000,
      }).status === 0
  }
  return bwrapWorks
}

/** Accumulates a stream's text; returns a getter. */
function collect(stream: Readable | null): () => string {
  let text = ''
  stream?.setEncoding('utf8').on('data', (data: string) => {
    text += data
  })
  return () => text
}

/** bwrap arguments for the read-only system directories and symlinks. */
function systemArgs(): string[] {
  const { mounts, links } = systemEntries()
  return [
    ...mounts.flatMap((m) => ['--ro-bind', m.host, m.at]),
    ...links.flatMap((l) => ['--symlink', l.target, l.at]),
  ]
}

/**
 * The running bubblewrap jail of one sandbox. `prefix(cwd)` is the nsenter + setpriv command that
 * runs a program inside it with `cwd` (a sandbox path, resolved inside the jail).
 */
export class Jail {
  private constructor(
    private readonly holder: ChildProcess,
    /** Host pid of the jail's init (pid 1 inside). */
    readonly pid: number,
    private readonly enterUserns: string[],
  ) {}

  static async start(table: MountTable, options: { allowNetwork: boolean }): Promise<Jail> {
    const bwrap = findTool('bwrap')!
    const args = ['--unshare-all', '--die-with-parent', '--as-pid-1', '--uid', '0', '--gid', '0']
    if (options.allowNetwork) args.push('--share-net')
    for (const m of table.mounts) if (m.writable) args.push('--bind', m.host, m.at)
    args.push(...systemArgs())
    for (const h of table.hidden) {
      args.push(...(h.directory ? ['--tmpfs', h.at, '--remount-ro', h.at] : ['--ro-bind', '/dev/null', h.at]))
    }
    // the running Node, for JavaScript contexts: bound at a fixed path (its own may sit under /tmp,
    // which the jail's private /tmp would hide, or be a symlink whose target is not visible inside)
    args.push('--ro-bind', realpathSync(process.execPath), JAIL_NODE)
    args.push(
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--chdir',
      WORKSPACE,
      '--info-fd',
      '3',
      '--',
      // pid 1 of the jail: says when the jail is complete (--info-fd is written before its mounts
      // are), then reaps orphans forever. Being init, it gets no signal it does not handle from
      // inside, so no command (not even `kill -9 -1`) can take the jail down.
      'bash',
      '-c',
      'echo ready; while :; do sleep 86400 & wait $!; done',
    )
    const holder = spawn(bwrap, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {} })
    const [stdout, stderr, info] = [holder.stdout, holder.stderr, holder.stdio[3] as Readable].map(collect)
    const exited = once(holder, 'exit')
    const ready = new Promise<void>((resolve) =>
      holder.stdout?.on('data', () => stdout?.().includes('ready') && resolve()),
    )
    await Promise.race([Promise.all([ready, once(holder.stdio[3]!, 'end')]), exited])
    const pid = Number((JSON.parse(info?.() || '{}') as { 'child-pid'?: number })['child-pid'])
    if (!pid || holder.exitCode !== null) {
      holder.kill('SIGKILL')
      throw new Error(
        `bubblewrap failed to start the sandbox: ${stderr?.().trim() || `exit ${holder.exitCode}`}`,
      )
    }
    // the jail is infrastructure: it must not keep this process alive (it dies with it anyway)
    holder.stdout?.destroy()
    holder.stderr?.destroy()
    holder.unref()
    // enter the jail's user namespace when bwrap made one (always, unless bwrap is setuid)
    const ownUserns = readlinkSync('/proc/self/ns/user') !== readlinkSync(`/proc/${pid}/ns/user`)
    return new Jail(holder, pid, ownUserns ? ['-U', '--preserve-credentials'] : [])
  }

  get alive(): boolean {
    return this.holder.exitCode === null && this.holder.signalCode === null
  }

  /** Resolves when the jail is gone (its pid namespace, and so every process in it, is dead). */
  get exited(): Promise<unknown> {
    return this.alive ? once(this.holder, 'exit') : Promise.resolve()
  }

  readonly prefix = (cwd: string): string[] => [
    findTool('nsenter')!,
    '-t',
    String(this.pid),
    ...this.enterUserns,
    '-m',
    '-n',
    '-p',
    '-i',
    '-u',
    '-C',
    `--wdns=${cwd}`,
    '--',
    findTool('setpriv')!,
    '--bounding-set=-all',
    '--inh-caps=-all',
    '--no-new-privs',
    '--pdeathsig=KILL',
    '--',
  ]

  /** Runs `argv` (host file system) inside the jail's network namespace only: the port relay. */
  spawnInNetwork(argv: string[]): ChildProcess {
    const [file, ...args] = [
      findTool('nsenter')!,
      '-t',
      String(this.pid),
      ...this.enterUserns,
      '-n',
      '--',
      ...argv,
    ]
    return spawn(file!, args, { stdio: ['pipe', 'pipe', 'ignore'] })
  }

  /**
   * Kills the jail's init; the kernel then kills every process of its pid namespace and init's
   * exit (hence bwrap's) waits for all of them to be gone.
   */
  async stop(): Promise<void> {
    const exited = this.exited
    this.holder.ref() // keep this process alive until the jail is gone
    try {
      process.kill(this.pid, 'SIGKILL')
    } catch {
      this.holder.kill('SIGKILL')
    }
    await exited
  }
}

/**
 * Resource limits. As root the kernel ignores RLIMIT_NPROC, so when cgroup v1 controllers are
 * writable (root on most hosts) the sandbox gets its own pids and memory cgroups, nested under the
 * cgroups of this Node process; each command joins them through a tiny `sh` before anything else
 * runs. Otherwise `prlimit` (not on macOS: no limits there) sets RLIMIT_NPROC — counted per user
 * namespace, so in bwrap mode it bounds the sandbox alone; without bwrap it counts all of the
 * user's processes — and RLIMIT_DATA per process (not RLIMIT_AS, which breaks runtimes that reserve
 * address space: Node.js, the JVM, Go). CPU time is always RLIMIT_CPU.
 */
export class Limiter {
  private constructor(
    readonly prefix: string[],
    private readonly cgroups: string[],
    /** Limits this host cannot enforce. */
    readonly unenforced: string[],
  ) {}

  static async create(limits: SandboxLimits, name: string): Promise<Limiter> {
    const cgroups: string[] = []
    const rlimits: string[] = []
    const unenforced: string[] = []
    const wanted: [controller: string, file: string, value: number | undefined, rlimit: string][] = [
      ['pids', 'pids.max', limits.processes, '--nproc'],
      ['memory', 'memory.limit_in_bytes', limits.memory, '--data'],
    ]
    for (const [controller, file, value, rlimit] of wanted) {
      if (value === undefined) continue
      const dir = process.getuid?.() === 0 ? await createCgroup(controller, name, file, value) : undefined
      if (dir) cgroups.push(dir)
      else rlimits.push(`${rlimit}=${value}`)
    }
    // soft limit: SIGXCPU (exit 152); the hard limit a second later would be SIGKILL
    if (limits.cpuSeconds !== undefined) rlimits.push(`--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`)
    const prefix: string[] = []
    if (cgroups.length > 0) {
      // sh -c 'echo $$ >"$0" && echo $$ >"$1" && shift 1 && exec "$@"' /sys/fs/cgroup/pids/…/cgroup.procs …
      const joins = cgroups.map((_, i) => `echo $$ >"$${i}"`).join(' && ')
      const script = `${joins} && ${cgroups.length > 1 ? `shift ${cgroups.length - 1} && ` : ''}exec "$@"`
      prefix.push('/bin/sh', '-c', script, ...cgroups.map((d) => `${d}/cgroup.procs`))
    }
    const prlimit = findTool('prlimit')
    if (rlimits.length > 0 && prlimit) prefix.push(prlimit, ...rlimits, '--')
    else if (rlimits.length > 0) unenforced.push(...rlimits)
    return new Limiter(prefix, cgroups, unenforced)
  }

  /** Removes the cgroups (their processes must be gone). */
  async release(): Promise<void> {
    for (const dir of this.cgroups) {
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir)
          break
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 50) break
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }
  }
}

/** A cgroup v1 child of this process's own cgroup for `controller`, or undefined if impossible. */
async function createCgroup(controller: string, name: string, file: string, value: number) {
  try {
    const own = (await readFile('/proc/self/cgroup', 'utf8'))
      .split('\n')
      .map((line) => line.split(':'))
      .find(([, controllers]) => controllers?.split(',').includes(controller))?.[2]
    if (own === undefined) return undefined
    const dir = posix.join('/sys/fs/cgroup', controller, own, name)
    await mkdir(dir)
    try {
      await writeFile(`${dir}/${file}`, String(value))
      if (controller === 'memory' && existsSync(`${dir}/memory.memsw.limit_in_bytes`)) {
        await writeFile(`${dir}/memory.memsw.limit_in_bytes`, String(value))
      }
      return dir
    } catch {
      await rmdir(dir)
      return undefined
    }
  } catch {
    return undefined
  }
}

/**
 * none mode has no pid namespace to kill, so every process it starts carries this variable and
 * destroy() kills whatever still has it (Linux: found through /proc; elsewhere only the process
 * groups the sandbox started are killed).
 */
/** Where the running Node binary is visible inside a bwrap jail. */
export const JAIL_NODE = '/opt/sandbox-agent-tools/bin/node'

export const MARKER_VARIABLE = 'SANDBOX_AGENT_TOOLS_SANDBOX'

export async function killMarkedProcesses(marker: string): Promise<void> {
  const needle = `${MARKER_VARIABLE}=${marker}\0`
  for (let round = 0; round < 5; round++) {
    const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name))
    const marked = await Promise.all(
      pids.map(async (pid) =>
        (await readFile(`/proc/${pid}/environ`).catch(() => undefined))?.includes(needle) ? pid : undefined,
      ),
    )
    const found = marked.filter((pid) => pid !== undefined)
    if (found.length === 0) return
    for (const pid of found) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // exited meanwhile
      }
    }
  }
}
