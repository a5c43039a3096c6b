/**
 * Type-level proof (checked by `npm run typecheck`): what `getSandbox()` from the real
 * `@cloudflare/sandbox` returns is assignable to our SandboxBackend with no cast. If the SDK
 * changes a signature we rely on, this file stops compiling.
 */
import type { getSandbox } from '@cloudflare/sandbox'
import type { SandboxBackend } from '../../src/backend.js'

type RealSandbox = ReturnType<typeof getSandbox>

export const realSandboxIsABackend = (sandbox: RealSandbox): SandboxBackend => sandbox

// Guards against the check above passing vacuously (an `any` leaking out of unresolved types):
// a deliberately wrong signature must be rejected.
interface WrongBackend {
  exec(command: number): Promise<{ exitCode: string }>
}
// @ts-expect-error exec takes a string and resolves exitCode as a number
export const wrongSignatureIsRejected = (sandbox: RealSandbox): WrongBackend => sandbox
