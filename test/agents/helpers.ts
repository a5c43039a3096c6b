/** Shared bits of the agents tests. */
import { env } from 'cloudflare:workers'
import type { SandboxBackend } from '../../src/backend.js'
import { remoteSandbox } from '../../src/local/client.js'

let counter = 0
/** A fresh agent name per test (each name is its own agent and its own sandbox). */
export function newName(prefix = 'agent'): string {
  return `${prefix}-${Date.now().toString(36)}-${++counter}`
}

/** The methods the loopback server was called with for a sandbox id, in order (the recording proxy). */
export async function sandboxCalls(id: string): Promise<string[]> {
  const response = await fetch(`${env.LOCAL_SANDBOX_URL}/__calls?id=${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${env.LOCAL_SANDBOX_TOKEN}` },
  })
  if (!response.ok) throw new Error(`the recording proxy answered ${response.status}`)
  return (await response.json()) as string[]
}

/** The sandbox with this id, straight on the loopback server (not through any agent). */
export function directSandbox(id: string): SandboxBackend {
  return remoteSandbox(env.LOCAL_SANDBOX_URL, env.LOCAL_SANDBOX_TOKEN, id)
}

/** Polls `check` until it returns true (at most ~20 s). Not a timing assertion: it only waits. */
export async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`gave up waiting until ${what}`)
}

/** Agent.destroy() aborts the object once it is done, which the RPC caller may see as an error. */
export async function destroyAgent(stub: { destroy(): Promise<void> }): Promise<void> {
  try {
    await stub.destroy()
  } catch {
    // "destroyed": the object reset itself, as Agent.destroy() does
  }
}
