/**
 * `sandbox-agent-tools/local`: the embedded, Docker-free backend. `localSandbox('dev')` is a
 * `SandboxBackend` right away: commands, files, processes, code contexts and ports on this machine,
 * isolated with bubblewrap when it is available.
 */

export { parseSSEStream } from '../sse.js'
export {
  type LogEvent,
  RemoteSandbox,
  RemoteSandboxError,
  type RemoteSandboxOptions,
  remoteSandbox,
} from './client.js'
export { LocalSandboxError } from './errors.js'
export type { IsolationMode, SandboxLimits } from './isolation.js'
export { type LocalSandbox, type LocalSandboxOptions, localSandbox } from './sandbox.js'
export { type LocalSandboxServer, type ServeLocalSandboxOptions, serveLocalSandbox } from './server.js'
