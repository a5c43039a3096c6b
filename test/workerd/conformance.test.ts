/**
 * The backend and code conformance suites inside workerd, against what the REAL `getSandbox`
 * returns for the `Sandbox` binding — LocalSandboxDO, forwarding to the loopback server.
 * Sessionless (`enableDefaultSession: false`, what the session layer uses: the proxy calls the
 * `*WithSessionToken` variants and passes `sessionId` to file calls) and with the default session.
 *
 * One backend test is not run here (vitest.workerd.config.ts filters it by name): "later calls fail
 * with SANDBOX_DESTROYED" asserts LocalSandbox's per-handle semantics. Cloudflare's Sandbox — and
 * so its stand-in — starts a fresh sandbox on the next call after destroy(); worker.test.ts checks that.
 */

import { env } from 'cloudflare:workers'
import { getSandbox } from '@cloudflare/sandbox'
import type { SandboxBackend } from '../../src/backend.js'
import { describeBackendConformance } from '../conformance/backend.js'
import { describeCodeConformance } from '../conformance/code.js'

const sessionless = (id: string): SandboxBackend =>
  getSandbox(env.Sandbox, id, { enableDefaultSession: false })
const defaultSession = (id: string): SandboxBackend => getSandbox(env.Sandbox, id)

/**
 * workerd quirk: `expect(stub.method()).rejects` leaves the RPC promise's rejection unhandled (an
 * `await` in try/catch does not), and vitest fails the run on it. The code suite asserts one
 * rejection that way, so its calls are wrapped in native promises; nothing else changes.
 */
function nativePromises(sandbox: SandboxBackend): SandboxBackend {
  return new Proxy(sandbox, {
    get(target, prop) {
      const value = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) =>
        Promise.resolve(
          (target as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>)[prop]!(...args),
        )
    },
  })
}

describeBackendConformance('LocalSandboxDO via getSandbox, sessionless', sessionless)
describeBackendConformance('LocalSandboxDO via getSandbox, default session', defaultSession)
describeCodeConformance('LocalSandboxDO via getSandbox', (id) => nativePromises(sessionless(id)))
