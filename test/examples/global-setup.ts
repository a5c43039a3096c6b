/**
 * Runs in Node before the example tests: the loopback sandbox server (behind LocalSandboxDO, the
 * `Sandbox` binding of the examples' `local` environment) and the scripted model on the OpenAI
 * Responses API (test/fixtures/openai-fixture.ts), both on 127.0.0.1. Their URLs reach the Worker
 * as bindings (vitest.examples.config.ts).
 */
import type { TestProject } from 'vitest/node'
import { serveLocalSandbox } from '../../src/local/server.js'
import { startScriptedOpenAI } from '../fixtures/openai-fixture.js'
import { API_KEY, answer, MODEL, refuse, STEPS } from './task.js'

declare module 'vitest' {
  interface ProvidedContext {
    examplesSandboxUrl: string
    examplesSandboxToken: string
    examplesModelUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sandbox = await serveLocalSandbox({ port: 0 })
  const model = await startScriptedOpenAI({ steps: STEPS, answer, apiKey: API_KEY, model: MODEL, refuse })
  project.provide('examplesSandboxUrl', sandbox.url)
  project.provide('examplesSandboxToken', sandbox.token)
  project.provide('examplesModelUrl', model.baseURL)
  return async () => {
    await model.close()
    await sandbox.close()
  }
}
