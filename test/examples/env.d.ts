/**
 * Types for `cloudflare:workers` in the example tests. Each project runs one example as its main
 * module; they all export the same `fetch` (the contract in examples/shared/events.ts), so one of
 * them stands for all four here.
 */
declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../../examples/ai-sdk/src/index.js')
    }
  }
}

export {}
