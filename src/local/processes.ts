import type { ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import type { ProcessInfo, ProcessOptions, ProcessStatus } from '../backend.js'
import { LocalSandboxError } from './errors.js'

/** SIGTERM first; SIGKILL (and our ends of the pipes closed) if the group is still there after this. */
const KILL_GRACE_MS = 2_000

interface Closed {
  code: number | null
  signal: NodeJS.Signals | null
  error: Error | undefined
}

/** A spawned child with a promise of its 'close', taken in the tick it was spawned (none is missed). */
export interface Spawned {
  child: ChildProcess
  closed: Promise<Closed>
}

export function watch(child: ChildProcess): Spawned {
  let error: Error | undefined
  child.on('error', (e) => {
    error ??= e
  })
  const closed = new Promise<Closed>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ code, signal, error }),
    )
  })
  return { child, closed }
}

/**
 * Signals the process group of a command (every command runs in its own group, so background jobs
 * are included); escalates to SIGKILL after a grace period. Resolves once its output has closed.
 */
export async function killGroup(
  { child, closed }: Spawned,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  signalGroup(child, signal)
  const escalate = setTimeout(() => {
    signalGroup(child, 'SIGKILL')
    // a process that left the group (setsid) may still hold the pipes: stop waiting for it
    child.stdout?.destroy()
    child.stderr?.destroy()
  }, KILL_GRACE_MS)
  await closed
  clearTimeout(escalate)
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // the group is gone already
  }
}

export interface Supervision {
  timeout?: number
  signal?: AbortSignal
  onOutput: (stream: 'stdout' | 'stderr', data: string) => void
}

/**
 * Waits for a spawned command and all its output. A timeout kills the whole process group and
 * reports exit code 124 (the container's sessionless shape); an abort kills it and rejects.
 */
export async function supervise(
  spawned: Spawned,
  options: Supervision,
): Promise<{ exitCode: number; timedOut: boolean }> {
  const { child } = spawned
  let timedOut = false
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]?.setEncoding('utf8').on('data', (data: string) => options.onOutput(stream, data))
  }
  const timer =
    options.timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          void killGroup(spawned)
        }, options.timeout)
  const onAbort = () => void killGroup(spawned)
  options.signal?.addEventListener('abort', onAbort)
  try {
    const { code, signal, error } = await spawned.closed
    if (child.pid === undefined) {
      throw new LocalSandboxError('COMMAND_EXECUTION_ERROR', `Failed to start command: ${error?.message}`, {
        operation: 'command.execute',
        cause: error,
      })
    }
    if (options.signal?.aborted) throw new Error('Operation was aborted')
    return { exitCode: timedOut ? 124 : exitCodeOf(code, signal), timedOut }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** The shell's convention: 128 + signal number for a process killed by a signal. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)
}

/** The last `max` characters of a stream, kept with amortised O(1) appends. */
class Tail {
  private text = ''
  constructor(private readonly max: number) {}
  push(data: string) {
    this.text += data
    if (this.text.length > 2 * this.max) this.text = this.text.slice(-this.max)
  }
  toString() {
    return this.text.length > this.max ? this.text.slice(-this.max) : this.text
  }
}

const LOG_LIMIT = 1 << 20

interface ProcessRecord {
  id: string
  command: string
  spawned: Spawned
  status: ProcessStatus
  startTime: Date
  endTime?: Date
  exitCode?: number
  stdout: Tail
  stderr: Tail
  done: Promise<void>
}

export type CommandSpawner = (command: string, options: ProcessOptions) => Promise<Spawned>

/** Background processes (`startProcess`): status, the last MiB of each output stream, kill. */
export class ProcessTable {
  private readonly records = new Map<string, ProcessRecord>()

  constructor(private readonly spawnCommand: CommandSpawner) {}

  async start(command: string, options: ProcessOptions = {}): Promise<ProcessInfo> {
    const id = options.processId ?? `proc_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
    if (this.records.get(id)?.status === 'running') {
      throw new LocalSandboxError('PROCESS_ERROR', `Process ${id} is already running`, {
        operation: 'process.start',
        context: { processId: id },
      })
    }
    const spawned = await this.spawnCommand(command, options)
    const record: ProcessRecord = {
      id,
      command,
      spawned,
      status: 'starting',
      startTime: new Date(),
      stdout: new Tail(LOG_LIMIT),
      stderr: new Tail(LOG_LIMIT),
      done: Promise.resolve(),
    }
    const outcome = supervise(spawned, {
      timeout: options.timeout,
      onOutput: (stream, data) => record[stream].push(data),
    })
    record.done = outcome.then(
      ({ exitCode }) => {
        record.exitCode = exitCode
        record.endTime = new Date()
        if (record.status !== 'killed') record.status = statusOf(exitCode)
      },
      () => {
        record.endTime = new Date()
        record.status = 'error'
      },
    )
    if (spawned.child.pid === undefined) {
      await record.done
      throw new LocalSandboxError('PROCESS_ERROR', `Failed to start process: ${command}`, {
        operation: 'process.start',
        context: { processId: id },
      })
    }
    record.status = 'running'
    this.records.set(id, record)
    return snapshot(record)
  }

  list(): ProcessInfo[] {
    return [...this.records.values()].map(snapshot)
  }

  get(id: string): ProcessInfo | null {
    const record = this.records.get(id)
    return record ? snapshot(record) : null
  }

  logs(id: string): { stdout: string; stderr: string; processId: string } {
    const record = this.find(id)
    return { stdout: record.stdout.toString(), stderr: record.stderr.toString(), processId: id }
  }

  /** Kills the process's whole group and waits for it; its status becomes 'killed'. */
  async kill(id: string, signal = 'SIGTERM'): Promise<void> {
    const record = this.find(id)
    if (record.status !== 'running') return
    record.status = 'killed'
    await killGroup(record.spawned, signal in constants.signals ? (signal as NodeJS.Signals) : 'SIGTERM')
    await record.done
  }

  /** Kills every running process; resolves to how many there were. */
  async killAll(signal?: string): Promise<number> {
    const running = [...this.records.values()].filter((r) => r.status === 'running')
    await Promise.all(running.map((r) => this.kill(r.id, signal)))
    return running.length
  }

  private find(id: string): ProcessRecord {
    const record = this.records.get(id)
    if (!record) {
      throw new LocalSandboxError('PROCESS_NOT_FOUND', `Process ${id} not found`, {
        operation: 'process.get',
        context: { processId: id },
      })
    }
    return record
  }
}

/** The container's reading of an exit code. */
function statusOf(exitCode: number): ProcessStatus {
  if (exitCode === 0) return 'completed'
  return exitCode === 137 || exitCode === 143 ? 'killed' : 'failed'
}

function snapshot(r: ProcessRecord): ProcessInfo {
  return {
    id: r.id,
    pid: r.spawned.child.pid,
    command: r.command,
    status: r.status,
    startTime: r.startTime,
    ...(r.endTime && { endTime: r.endTime }),
    ...(r.exitCode !== undefined && { exitCode: r.exitCode }),
  }
}
