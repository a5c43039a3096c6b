import type { Env as WorkerEnv } from './entry.js'

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import('./entry.js')
      durableNamespaces: 'LocalSandboxDO' | 'Coder' | 'IdleCoder' | 'CustomCoder' | 'ChatCoder'
    }
  }
}
