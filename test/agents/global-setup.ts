/**
 * Runs in Node before the agents tests (vitest.agents.config.ts): starts the loopback sandbox
 * server, and in front of it a small recording proxy on 127.0.0.1 that remembers which sandbox ids
 * were called with which methods — so a test can prove that an agent made no sandbox call at all
 * (lazy creation) or that it destroyed its sandbox. `GET /__calls?id=<sandbox id>` (same bearer
 * token) answers with the methods called for that id, in order.
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestProject } from 'vitest/node'
import { serveLocalSandbox } from '../../src/local/server.js'

declare module 'vitest' {
  interface ProvidedContext {
    agentsSandboxUrl: string
    agentsSandboxToken: string
  }
}

const ROUTE = /^\/sandbox\/([^/]+)\/(?:call\/([^/]+)|(file))$/

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await serveLocalSandbox({ port: 0 })
  const calls = new Map<string, string[]>()

  const proxy = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/__calls') {
      req.resume()
      const authorized = req.headers.authorization === `Bearer ${upstream.token}`
      res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' })
      res.end(JSON.stringify(authorized ? (calls.get(url.searchParams.get('id') ?? '') ?? []) : null))
      return
    }
    const route = ROUTE.exec(url.pathname)
    if (route) {
      const id = decodeURIComponent(route[1]!)
      const method = route[2] ? decodeURIComponent(route[2]) : 'writeFile'
      calls.set(id, [...(calls.get(id) ?? []), method])
    }
    const forward = request(
      { host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(String(error))
    })
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy()
    })
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const { port } = proxy.address() as AddressInfo

  project.provide('agentsSandboxUrl', `http://127.0.0.1:${port}`)
  project.provide('agentsSandboxToken', upstream.token)
  return async () => {
    proxy.closeAllConnections()
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    await upstream.close()
  }
}
