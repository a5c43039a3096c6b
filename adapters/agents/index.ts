/**
 * Cloudflare Agents SDK adapter (`sandbox-agent-tools/agents`): `withSandbox(Base, options?)`, a class
 * mixin over `Agent` (agents 0.32) and `AIChatAgent` (@cloudflare/ai-chat) that gives the agent
 * `this.sandbox` — a `SandboxSession` on the agent's own sandbox — and hands the sandbox's lifecycle
 * to the agent:
 *
 * - Lazy: nothing is created or called until the first operation. The sandbox is
 *   `getSandbox(env.Sandbox, <the agent's name>)`, so one agent name ↔ one sandbox.
 * - Owned: `destroy()` of the agent destroys the sandbox first; after `idleTimeout` (default 15 min)
 *   without use, the agent's own schedule destroys it; `this.destroySandbox()` ends it explicitly.
 * - Survives hibernation: the working directory, exported variables, run_code contexts, background
 *   processes, exposed ports and the last use are kept in the agent's SQLite storage and restored
 *   when the Durable Object wakes, so the next turn continues where the last one left off.
 * - Visible: `this.sandboxStatus` ('not-started' | 'starting' | 'ready' | 'destroyed'), the
 *   `onSandboxStatus(status)` hook, and a broadcast `{ type: 'sandbox-status', … }` to connected
 *   clients on every change. The agent's own `state` is left alone (its type belongs to the app; an
 *   app that wants the status there sets it from `onSandboxStatus`).
 *
 * Notes: a workdir other than /workspace is created on the first operation. AbortSignals stay on
 * the agent's side of the Durable Object RPC to the sandbox (workerd cannot send them); the
 * session's own deadlines and `timeout` still bound every call.
 *
 * ```ts
 * export class Coder extends withSandbox(AIChatAgent<Env>, { idleTimeout: '30m' }) {
 *   async onChatMessage() {
 *     return streamText({ model, messages: await convertToModelMessages(this.messages),
 *       tools: sandboxTools(this.sandbox), stopWhen: isStepCount(20) }).toUIMessageStreamResponse()
 *   }
 * }
 * ```
 */
import { getSandbox, type SandboxOptions } from '@cloudflare/sandbox'
import type { Agent } from 'agents'
import type { ProcessInfo, SandboxBackend } from '../../src/backend.js'
import {
  createSession,
  isTransient,
  type SandboxSession,
  type SessionEvent,
  type SessionOptions,
  type SessionState,
} from '../../src/session.js'

export type { SessionState } from '../../src/session.js'

// ------------------------------------------------------------------ public types

/** Where the agent's sandbox is: never used, on its way up, answering, or gone. */
export type SandboxStatus = 'not-started' | 'starting' | 'ready' | 'destroyed'

/** Why a sandbox was destroyed. */
export type SandboxDestroyReason = 'explicit' | 'idle' | 'agent-destroyed'

/** What is broadcast (JSON) to the agent's connected clients whenever the status changes. */
export interface SandboxStatusMessage {
  type: 'sandbox-status'
  status: SandboxStatus
  /** The sandbox id (the Sandbox Durable Object's name). */
  sandboxId: string
  /** For 'destroyed': why. */
  reason?: SandboxDestroyReason
  /** Epoch ms. */
  at: number
}

/** A background process the agent started (start_process), as last seen. */
export interface TrackedProcess {
  id: string
  command: string
  status: string
  /** Epoch ms. */
  startedAt: number
}

/** A port the agent exposed (expose_port). */
export interface TrackedPort {
  port: number
  url: string
  name?: string
}

/**
 * What the agent keeps about its sandbox in its storage (plain JSON): enough for a turn after
 * hibernation to continue where the last one left off, and for a UI to show.
 */
export interface SandboxAgentState {
  status: SandboxStatus
  /** The sandbox id once known (it is derived from the agent's name). */
  sandboxId: string | null
  /** cwd, variables (exports included) and run_code contexts of the session. */
  session: SessionState | null
  processes: TrackedProcess[]
  ports: TrackedPort[]
  /** Epoch ms of the first operation on the current sandbox. */
  startedAt: number | null
  /** Epoch ms of the last operation. */
  lastUsedAt: number | null
  destroyedAt: number | null
  destroyReason: SandboxDestroyReason | null
  /** The pending idle check in the agent's schedule, if any. */
  idleScheduleId: string | null
}

/** What `withSandbox` adds to an agent class. */
export interface SandboxAgent {
  /**
   * The agent's sandbox session, created on first access and started on its first operation. A new
   * session replaces it after `destroySandbox()`: read `this.sandbox` per turn rather than keeping it.
   */
  readonly sandbox: SandboxSession
  /** 'not-started' | 'starting' | 'ready' | 'destroyed' (kept across hibernation). */
  readonly sandboxStatus: SandboxStatus
  /** A copy of what the agent keeps about its sandbox (status, cwd/env, processes, ports, last use). */
  readonly sandboxState: SandboxAgentState
  /** Destroys the sandbox now (idempotent). The next use of `this.sandbox` starts a fresh one. */
  destroySandbox(): Promise<void>
  /**
   * Called on every status change, once it is stored and broadcast. Override to react — e.g. to mirror
   * the status into the agent's own state with `setState`.
   */
  onSandboxStatus(status: SandboxStatus, state: SandboxAgentState): void | Promise<void>
  /**
   * The idle timer's callback (run by the agent's schedule): destroys the sandbox if it was not used
   * for `idleTimeout`, otherwise re-arms itself for the new deadline.
   */
  sandboxIdleCheck(payload?: unknown, schedule?: { id: string }): Promise<void>
}

export interface WithSandboxOptions extends Omit<SessionOptions, 'sandbox' | 'initialState'> {
  /** The env binding of the Sandbox Durable Object namespace. Default 'Sandbox'. */
  binding?: string
  /**
   * The sandbox id for an agent. Default: the agent's name when it is a valid lowercase sandbox id
   * (1–63 of a-z 0-9 -), else a lowercase slug of it plus 48 bits of its hash (`sandboxIdFor`), so
   * preview URLs work and 'Alice' and 'alice' do not share a sandbox.
   */
  id?: (name: string, env: any) => string
  /**
   * Options for `getSandbox()`. Defaults: `enableDefaultSession: false` (sessionless commands: the
   * session tracks cwd and env itself), `normalizeId: true`, and — unless `keepAlive` or `sleepAfter`
   * is given — `sleepAfter` a minute past `idleTimeout`, so the container does not sleep (and lose its
   * disk) before the agent considers it idle.
   */
  sandboxOptions?: SandboxOptions
  /**
   * Replaces `getSandbox(env[binding], id, sandboxOptions)`: any `SandboxBackend`, e.g.
   * `remoteSandbox(env.LOCAL_SANDBOX_URL, env.LOCAL_SANDBOX_TOKEN, id)` from `sandbox-agent-tools/local`.
   */
  sandbox?: (id: string, env: any) => SandboxBackend | Promise<SandboxBackend>
  /**
   * Destroy the sandbox after this long without an operation: seconds, or '90s' / '15m' / '2h'.
   * `false` keeps it until `destroySandbox()` or the agent's `destroy()`. Default '15m'.
   */
  idleTimeout?: number | string | false
  /** Broadcast a `SandboxStatusMessage` to connected clients on every status change. Default true. */
  broadcastStatus?: boolean
}

/** The agent classes `withSandbox` extends (abstract ones included). */
export type AgentConstructor = abstract new (...args: any[]) => Agent<any, any>

// ------------------------------------------------------------------ the mixin

/**
 * Gives an `Agent` (or `AIChatAgent`, or any subclass) a sandbox it owns: `this.sandbox`, created
 * lazily and keyed by the agent's name, destroyed with the agent or when idle, its state kept across
 * hibernation.
 *
 * ```ts
 * export class Coder extends withSandbox(Agent<Env>) {}
 * export class Chat extends withSandbox(AIChatAgent<Env, State>, { workdir: '/workspace/app' }) {}
 * ```
 *
 * Options may be a function of the Worker env and the agent's name (read once per instance).
 *
 * Typing: the result is typed as a constructor of `InstanceType<TBase> & SandboxAgent` — the base's
 * instance side, not its static side — so a class built on `withSandbox(AIChatAgent<Env>)` also
 * compiles with `declaration: true` (the static side of an instantiation expression is anonymous,
 * and AIChatAgent's private statics cannot be written into a .d.ts). `static options = …` in the
 * subclass works as usual.
 */
export function withSandbox<TBase extends AgentConstructor>(
  Base: TBase,
  options: WithSandboxOptions | ((env: any, name: string) => WithSandboxOptions) = {},
): abstract new (
  ...args: any[]
) => InstanceType<TBase> & SandboxAgent {
  if (typeof options !== 'function') parseIdleTimeout(options.idleTimeout) // a bad value fails here, not on first use
  abstract class SandboxedAgent extends Base implements SandboxAgent {
    #controller: SandboxController | undefined

    #sandboxController(): SandboxController {
      if (!this.#controller) {
        const env = (this as unknown as { env: unknown }).env
        const resolved = typeof options === 'function' ? options(env, this.name) : options
        this.#controller = new SandboxController(this as unknown as AgentHost, env, resolved)
      }
      return this.#controller
    }

    get sandbox(): SandboxSession {
      return this.#sandboxController().session()
    }

    get sandboxStatus(): SandboxStatus {
      return this.#sandboxController().status
    }

    get sandboxState(): SandboxAgentState {
      return this.#sandboxController().snapshot()
    }

    destroySandbox(): Promise<void> {
      return this.#sandboxController().destroy('explicit')
    }

    onSandboxStatus(_status: SandboxStatus, _state: SandboxAgentState): void | Promise<void> {}

    sandboxIdleCheck(_payload?: unknown, schedule?: { id: string }): Promise<void> {
      return this.#sandboxController().idleCheck(schedule?.id)
    }

    /** Destroys the sandbox (if it was ever used), then the agent. */
    override async destroy(): Promise<void> {
      try {
        await this.#sandboxController().destroy('agent-destroyed')
      } catch (error) {
        console.error(`[sandbox-agent-tools] destroying the sandbox of ${this.name} failed`, error)
      }
      await super.destroy()
    }
  }
  return SandboxedAgent as unknown as abstract new (
    ...args: any[]
  ) => InstanceType<TBase> & SandboxAgent
}

// ------------------------------------------------------------------ ids and durations

const RESERVED_IDS = new Set(['www', 'api', 'admin', 'root', 'system', 'cloudflare', 'workers'])
const VALID_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * The default sandbox id for an agent name: the name itself when it is a valid lowercase sandbox id,
 * else a lowercase slug of it (at most 40 characters) plus 12 hex digits of its hash — lowercase for
 * preview URLs (hostnames are case-insensitive), within 63 characters, and 'Alice' and 'alice' stay
 * two sandboxes.
 */
export function sandboxIdFor(name: string): string {
  if (VALID_ID.test(name) && !RESERVED_IDS.has(name)) return name
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '')
  const hash = fnv1a64(name).slice(0, 12)
  return `${slug || 'agent'}-${hash}`
}

/** FNV-1a, 64 bits, over the UTF-8 bytes: 16 hex digits. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte)
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return hash.toString(16).padStart(16, '0')
}

/** `idleTimeout` in ms (undefined: disabled). Numbers are seconds; strings '500ms', '90s', '15m', '2h'. */
export function parseIdleTimeout(value: number | string | false | undefined): number | undefined {
  if (value === false) return undefined
  if (value === undefined) return 15 * 60_000
  const match = typeof value === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  const ms =
    typeof value === 'number'
      ? value * 1000
      : match
        ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!
        : Number.NaN
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(
      `withSandbox: idleTimeout must be a positive number of seconds, a duration like '15m', or false; got ${JSON.stringify(value)}`,
    )
  }
  return ms
}

// ------------------------------------------------------------------ the controller

/** The part of an Agent the controller uses (all public on Agent). */
interface AgentHost {
  readonly name: string
  sql<T = Record<string, string | number | boolean | null>>(
    strings: TemplateStringsArray,
    ...values: (string | number | boolean | null)[]
  ): T[]
  schedule(when: Date, callback: string, payload?: unknown, options?: unknown): Promise<{ id: string }>
  cancelSchedule(id: string): Promise<boolean>
  getScheduleById(id: string): Promise<unknown>
  broadcast(message: string): void
  onSandboxStatus(status: SandboxStatus, state: SandboxAgentState): void | Promise<void>
}

/** lastUsedAt is written to storage at most this often (the in-memory value is exact). */
const LAST_USE_WRITE_MS = 5_000
const MAX_TRACKED_PROCESSES = 50
const IDLE_CALLBACK = 'sandboxIdleCheck'

function comparable(state: SandboxAgentState): string {
  return JSON.stringify({ ...state, lastUsedAt: null })
}

function emptyState(): SandboxAgentState {
  return {
    status: 'not-started',
    sandboxId: null,
    session: null,
    processes: [],
    ports: [],
    startedAt: null,
    lastUsedAt: null,
    destroyedAt: null,
    destroyReason: null,
    idleScheduleId: null,
  }
}

/**
 * Everything `withSandbox` does, outside the class so the mixin stays a thin shell: the session, its
 * persistence in the agent's SQLite storage, the idle timer and the status.
 */
class SandboxController {
  readonly #agent: AgentHost
  readonly #env: unknown
  readonly #options: WithSandboxOptions
  readonly #idleMs: number | undefined
  #state: SandboxAgentState | undefined
  /** The stored state as JSON, lastUsedAt left out. */
  #savedComparable: string | undefined
  #savedLastUse = 0
  #session: SandboxSession | undefined
  #destroying: Promise<void> | undefined
  #inFlight = 0
  #arming: Promise<void> | undefined
  #idleVerified = false

  constructor(agent: AgentHost, env: unknown, options: WithSandboxOptions) {
    this.#agent = agent
    this.#env = env
    this.#options = options
    this.#idleMs = parseIdleTimeout(options.idleTimeout)
  }

  get status(): SandboxStatus {
    return this.#load().status
  }

  snapshot(): SandboxAgentState {
    return structuredClone(this.#load())
  }

  sandboxId(): string {
    const state = this.#load()
    if (!state.sandboxId) {
      const name = this.#agent.name
      state.sandboxId = this.#options.id ? this.#options.id(name, this.#env) : sandboxIdFor(name)
    }
    return state.sandboxId
  }

  // ---------------------------------------------------------------- the session

  session(): SandboxSession {
    if (this.#session && !this.#session.destroyed) return this.#session
    const state = this.#load()
    const {
      binding: _b,
      id: _i,
      sandboxOptions: _so,
      sandbox: _s,
      idleTimeout: _t,
      broadcastStatus: _bs,
      onEvent,
      ...sessionOptions
    } = this.#options
    const pendingDestroy = this.#destroying
    const session: SandboxSession = createSession({
      ...sessionOptions,
      ...(state.session ? { initialState: state.session } : {}),
      sandbox: async () => {
        // a new session right after destroySandbox(): let the destroy finish first
        await pendingDestroy?.catch(() => {})
        return this.#track(await this.#backend())
      },
      onEvent: (event) => {
        this.#onSessionEvent(session, event)
        onEvent?.(event)
      },
    })
    this.#session = session
    return session
  }

  async #backend(): Promise<SandboxBackend> {
    const id = this.sandboxId()
    if (this.#options.sandbox) return this.#options.sandbox(id, this.#env)
    const binding = this.#options.binding ?? 'Sandbox'
    const namespace = (this.#env as Record<string, unknown> | undefined)?.[binding]
    if (!namespace || typeof (namespace as { idFromName?: unknown }).idFromName !== 'function') {
      throw new TypeError(
        `withSandbox: env.${binding} is not a Durable Object namespace. Bind the Sandbox class ` +
          `(export { Sandbox } from '@cloudflare/sandbox') as "${binding}" in wrangler.jsonc, or pass { binding }.`,
      )
    }
    return getSandbox(namespace as any, id, this.#sandboxOptions())
  }

  #sandboxOptions(): SandboxOptions {
    const given = this.#options.sandboxOptions ?? {}
    const sleep =
      this.#idleMs !== undefined && given.sleepAfter === undefined && given.keepAlive === undefined
        ? { sleepAfter: `${Math.ceil(this.#idleMs / 1000) + 60}s` }
        : {}
    return { enableDefaultSession: false, normalizeId: true, ...sleep, ...given }
  }

  #onSessionEvent(session: SandboxSession, event: SessionEvent): void {
    if (event.type === 'command-started') this.#inFlight++
    else if (event.type === 'command-finished') {
      // (a command of a replaced session counts too: it kept the sandbox busy)
      this.#inFlight = Math.max(0, this.#inFlight - 1)
      this.#touch()
      this.#save()
    } else if (event.type === 'destroyed' && session === this.#session && !this.#destroying) {
      // `this.sandbox.destroy()` called directly: the same as destroySandbox()
      this.destroy('explicit').catch(() => {})
    }
  }

  /**
   * Wraps the backend so every call counts as a use (idle timer, status) and what the agent must
   * remember is recorded. AbortSignals are kept on this side: workerd cannot send them over Durable
   * Object RPC, and the session enforces its deadlines itself.
   */
  #track(backend: SandboxBackend): SandboxBackend {
    return new Proxy(backend, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop)
        if (typeof prop !== 'string' || prop === 'then' || typeof value !== 'function') return value
        if (prop === 'destroy') return (...args: unknown[]) => Reflect.apply(value, target, args)
        return (...args: unknown[]) =>
          this.#call(prop, args, () => Reflect.apply(value, target, args.map(withoutSignal)))
      },
    })
  }

  async #call(method: string, args: unknown[], call: () => unknown): Promise<unknown> {
    this.#inFlight++
    this.#touch()
    const state = this.#load()
    if (state.status !== 'ready' && state.status !== 'starting') {
      state.startedAt = Date.now()
      state.destroyedAt = null
      state.destroyReason = null
      this.#setStatus('starting')
    }
    await this.#armIdle()
    try {
      const result = await call()
      this.#record(method, args, result)
      return result
    } catch (error) {
      // the sandbox answered (with an error of its own): it is up
      if (!isTransient(error)) this.#record(method, args, undefined, true)
      throw error
    } finally {
      this.#inFlight = Math.max(0, this.#inFlight - 1)
      this.#touch()
      this.#save()
    }
  }

  #touch(): void {
    this.#load().lastUsedAt = Date.now()
  }

  #record(method: string, args: unknown[], result: unknown, failed = false): void {
    const state = this.#load()
    if (state.status === 'starting') this.#setStatus('ready')
    if (failed) return
    const now = Date.now()
    switch (method) {
      case 'startProcess': {
        const info = result as ProcessInfo
        state.processes = state.processes.filter((p) => p.id !== info.id)
        state.processes.push({
          id: info.id,
          command: info.command ?? String(args[0]),
          status: info.status ?? 'running',
          startedAt: now,
        })
        state.processes = state.processes.slice(-MAX_TRACKED_PROCESSES)
        break
      }
      case 'getProcess': {
        const info = result as ProcessInfo | null
        if (!info) state.processes = state.processes.filter((p) => p.id !== args[0])
        else for (const p of state.processes) if (p.id === info.id) p.status = info.status
        break
      }
      case 'listProcesses': {
        const known = new Map(state.processes.map((p) => [p.id, p]))
        state.processes = (result as ProcessInfo[]).slice(-MAX_TRACKED_PROCESSES).map((info) => ({
          id: info.id,
          command: info.command,
          status: info.status,
          startedAt: known.get(info.id)?.startedAt ?? now,
        }))
        break
      }
      case 'killProcess':
        state.processes = state.processes.filter((p) => p.id !== args[0])
        break
      case 'killAllProcesses':
        state.processes = []
        break
      case 'exposePort': {
        const exposed = result as { url: string; port: number; name?: string }
        state.ports = state.ports.filter((p) => p.port !== exposed.port)
        state.ports.push({
          port: exposed.port,
          url: exposed.url,
          ...(exposed.name ? { name: exposed.name } : {}),
        })
        break
      }
      case 'unexposePort':
        state.ports = state.ports.filter((p) => p.port !== args[0])
        break
    }
  }

  // ---------------------------------------------------------------- status and storage

  #setStatus(status: SandboxStatus, reason?: SandboxDestroyReason): void {
    const state = this.#load()
    if (state.status === status) return
    state.status = status
    this.#save(true)
    const snapshot = structuredClone(state)
    if (this.#options.broadcastStatus !== false) {
      const message: SandboxStatusMessage = {
        type: 'sandbox-status',
        status,
        sandboxId: state.sandboxId ?? this.sandboxId(),
        ...(reason ? { reason } : {}),
        at: Date.now(),
      }
      try {
        this.#agent.broadcast(JSON.stringify(message))
      } catch (error) {
        console.warn('[sandbox-agent-tools] broadcasting the sandbox status failed', error)
      }
    }
    try {
      Promise.resolve(this.#agent.onSandboxStatus(status, snapshot)).catch((error) =>
        console.error('[sandbox-agent-tools] onSandboxStatus failed', error),
      )
    } catch (error) {
      console.error('[sandbox-agent-tools] onSandboxStatus failed', error)
    }
  }

  #load(): SandboxAgentState {
    if (this.#state) return this.#state
    let state = emptyState()
    if (this.#tableExists()) {
      const rows = this.#agent.sql<{ value: string }>`
        SELECT value FROM sandbox_agent_tools WHERE key = 'state'`
      if (rows[0]) {
        try {
          state = { ...state, ...(JSON.parse(rows[0].value) as Partial<SandboxAgentState>) }
          this.#savedComparable = comparable(state)
          this.#savedLastUse = state.lastUsedAt ?? 0
        } catch {
          // a corrupt row: start over (the sandbox itself may still be there; it is reused by id)
        }
      }
    }
    this.#state = state
    return state
  }

  #tableExists(): boolean {
    return (
      this.#agent.sql<{ name: string }>`
        SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sandbox_agent_tools'`.length > 0
    )
  }

  /** Writes the state if it changed (lastUsedAt alone: at most every LAST_USE_WRITE_MS). */
  #save(force = false): void {
    const state = this.#load()
    if (this.#session && !this.#session.destroyed && state.status !== 'destroyed') {
      state.session = this.#session.snapshotState()
    }
    const lastUse = state.lastUsedAt ?? 0
    const current = comparable(state)
    if (!force && current === this.#savedComparable && lastUse - this.#savedLastUse < LAST_USE_WRITE_MS)
      return
    const value = JSON.stringify(state)
    this.#agent
      .sql`CREATE TABLE IF NOT EXISTS sandbox_agent_tools (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    this.#agent.sql`INSERT OR REPLACE INTO sandbox_agent_tools (key, value) VALUES ('state', ${value})`
    this.#savedLastUse = lastUse
    this.#savedComparable = current
  }

  // ---------------------------------------------------------------- idle timer

  /** Makes sure one idle check is scheduled while the sandbox is in use (one row, never more). */
  #armIdle(): Promise<void> {
    if (this.#idleMs === undefined) return Promise.resolve()
    if (this.#idleVerified && this.#load().idleScheduleId) return Promise.resolve()
    this.#arming ??= (async () => {
      const state = this.#load()
      if (state.idleScheduleId && !this.#idleVerified) {
        // after a wake: is the stored schedule still there?
        if (await this.#agent.getScheduleById(state.idleScheduleId).catch(() => undefined)) {
          this.#idleVerified = true
          return
        }
        state.idleScheduleId = null
      }
      if (!state.idleScheduleId) await this.#schedule(Date.now() + this.#idleMs!)
    })()
      .catch((error) => console.error('[sandbox-agent-tools] scheduling the idle check failed', error))
      .finally(() => {
        this.#arming = undefined
      })
    return this.#arming
  }

  async #schedule(deadline: number): Promise<void> {
    // whole seconds (the scheduler's resolution), rounded up so the check never runs before the deadline
    const when = new Date(Math.ceil(deadline / 1000) * 1000)
    const schedule = await this.#agent.schedule(when, IDLE_CALLBACK, undefined, { idempotent: false })
    const state = this.#load()
    state.idleScheduleId = schedule.id
    this.#idleVerified = true
    this.#save(true)
  }

  /**
   * The idle check: uses push the deadline back without touching the schedule (no row per use);
   * the check re-arms itself for `lastUsedAt + idleTimeout` until that has passed with nothing running.
   */
  async idleCheck(scheduleId?: string): Promise<void> {
    const state = this.#load()
    if (scheduleId && state.idleScheduleId === scheduleId) {
      state.idleScheduleId = null
      this.#save(true)
    }
    if (this.#idleMs === undefined || (state.status !== 'ready' && state.status !== 'starting')) return
    if (state.idleScheduleId) return // another check is pending
    const now = Date.now()
    if (this.#inFlight > 0) return this.#schedule(now + this.#idleMs)
    const deadline = (state.lastUsedAt ?? 0) + this.#idleMs
    if (deadline > now) return this.#schedule(deadline)
    await this.destroy('idle')
  }

  // ---------------------------------------------------------------- destroy

  destroy(reason: SandboxDestroyReason): Promise<void> {
    this.#destroying ??= this.#destroy(reason).finally(() => {
      this.#destroying = undefined
    })
    return this.#destroying
  }

  async #destroy(reason: SandboxDestroyReason): Promise<void> {
    const state = this.#load()
    const session = this.#session
    const used = session?.started === true || state.status === 'starting' || state.status === 'ready'
    // detached first: its own 'destroyed' event is then not taken for an outside destroy
    this.#session = undefined
    if (session?.started) await session.destroy()
    else {
      await session?.destroy()
      if (!used) return
      // used before the agent hibernated: this instance never called the sandbox, so call it now
      await (await this.#backend()).destroy()
    }
    const idleScheduleId = state.idleScheduleId
    Object.assign(state, {
      session: null,
      processes: [],
      ports: [],
      destroyedAt: Date.now(),
      destroyReason: reason,
      idleScheduleId: null,
    } satisfies Partial<SandboxAgentState>)
    this.#setStatus('destroyed', reason)
    if (idleScheduleId) {
      await this.#agent
        .cancelSchedule(idleScheduleId)
        .catch((error) => console.warn('[sandbox-agent-tools] cancelling the idle check failed', error))
    }
  }
}

function withoutSignal(arg: unknown): unknown {
  if (!arg || typeof arg !== 'object' || Array.isArray(arg) || !('signal' in arg)) return arg
  const { signal: _signal, ...rest } = arg as Record<string, unknown>
  return rest
}
