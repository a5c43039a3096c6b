/**
 * Runs in Node before the workerd tests: starts the loopback sandbox server on a free port and
 * hands its URL and token to the Worker's bindings (vitest.workerd.config.ts injects them).
 */
import type { TestProject } from 'vitest/node'
import { serveLocalSandbox } from '../../src/local/server.js'

declare module 'vitest' {
  interface ProvidedContext {
    localSandboxUrl: string
    localSandboxToken: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await serveLocalSandbox({ port: 0 })
  project.provide('localSandboxUrl', server.url)
  project.provide('localSandboxToken', server.token)
  return () => server.close()
}
