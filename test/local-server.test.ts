/**
 * The loopback sandbox server (serveLocalSandbox) and its client (remoteSandbox): auth, loopback
 * only, the wire protocol's edges, and the backend + code conformance suites through HTTP.
 */
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExecEvent, SandboxBackend } from '../src/backend.js'
import {
  type LocalSandboxServer,
  parseSSEStream,
  remoteSandbox,
  serveLocalSandbox,
} from '../src/local/index.js'
import { describeBackendConformance } from './conformance/backend.js'
import { describeCodeConformance } from './conformance/code.js'

let server: LocalSandboxServer
beforeAll(async () => {
  server = await serveLocalSandbox({ port: 0 })
})
afterAll(() => server?.close())

const sandboxOf = (id: string) => remoteSandbox(server.url, server.token, id)

describeBackendConformance('remoteSandbox → serveLocalSandbox', sandboxOf)
describeCodeConformance('remoteSandbox → serveLocalSandbox', sandboxOf)

let counter = 0
const made: SandboxBackend[] = []
const fresh = () => {
  const sb = sandboxOf(`server-test-${process.pid}-${++counter}`)
  made.push(sb)
  return sb
}
afterAll(async () => {
  await Promise.all(made.splice(0).map((sb) => sb.destroy()))
})

async function rejection(promise: Promise<unknown>): Promise<Record<string, any>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, any>
  }
  throw new Error('expected the call to fail')
}

describe('serveLocalSandbox: access', () => {
  it('listens on 127.0.0.1 only, on the port it reports', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.port).toBeGreaterThan(0)
    expect(server.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port: server.port })
  })

  it('refuses any host but 127.0.0.1', async () => {
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', '192.168.1.10', '']) {
      await expect(serveLocalSandbox({ port: 0, host })).rejects.toThrow(/only listens on 127\.0\.0\.1/)
    }
  })

  it('cannot be reached on another interface address of this machine', async () => {
    const { networkInterfaces } = await import('node:os')
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address)
    for (const address of others) {
      const reached = await new Promise<boolean>((resolve) => {
        const req = request({ host: address, port: server.port, path: '/', timeout: 2000 }, (res) => {
          res.resume()
          resolve(true)
        })
        req.on('error', () => resolve(false))
        req.on('timeout', () => {
          req.destroy()
          resolve(false)
        })
        req.end()
      })
      expect(reached, `reached the server on ${address}`).toBe(false)
    }
  })

  it('answers 401 without a token, with a wrong token and with another scheme', async () => {
    const path = `${server.url}/sandbox/x/call/exec`
    const body = JSON.stringify({ args: ['touch /tmp/should-not-run'] })
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Bearer ${server.token}x` },
      { authorization: `Basic ${server.token}` },
      { authorization: server.token },
    ]
    for (const headers of attempts) {
      const response = await fetch(path, { method: 'POST', headers, body })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe('Bearer')
      expect(((await response.json()) as any).error).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 })
    }
    const health = await fetch(`${server.url}/`)
    expect(health.status).toBe(401)
  })

  it('answers with the token', async () => {
    const response = await fetch(`${server.url}/`, { headers: { authorization: `Bearer ${server.token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ name: 'sandbox-agent-tools', protocol: 1 })
  })

  it('refuses a client with a wrong token with code UNAUTHORIZED, and runs nothing', async () => {
    const sb = fresh()
    await sb.writeFile('canary.txt', 'alive')
    const intruder = remoteSandbox(server.url, 'not-the-token', (sb as any).id)
    expect(await rejection(intruder.deleteFile('canary.txt'))).toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
    })
    expect((await sb.readFile('canary.txt')).content).toBe('alive')
  })

  it('uses the token it is given, refuses a short one', async () => {
    const other = await serveLocalSandbox({ port: 0, token: 'a-chosen-token' })
    try {
      expect(other.token).toBe('a-chosen-token')
      const response = await fetch(`${other.url}/`, { headers: { authorization: 'Bearer a-chosen-token' } })
      expect(response.status).toBe(200)
    } finally {
      await other.close()
    }
    await expect(serveLocalSandbox({ token: 'short' })).rejects.toThrow(/at least 8/)
  })

  it('generates a different random token per server', async () => {
    const other = await serveLocalSandbox()
    try {
      expect(other.token).not.toBe(server.token)
      expect(other.token.length).toBeGreaterThanOrEqual(32)
    } finally {
      await other.close()
    }
  })
})

describe('serveLocalSandbox: protocol', () => {
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      ...init,
      headers: { authorization: `Bearer ${server.token}`, ...(init.headers as Record<string, string>) },
    })

  it('answers unknown routes and methods with 404, wrong verbs with 405, bad bodies with 400', async () => {
    expect((await call('/nowhere')).status).toBe(404)
    const unknown = await call('/sandbox/x/call/constructor', { body: '{"args":[]}' })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as any).error.code).toBe('NOT_FOUND')
    expect((await call('/sandbox/x/call/exec', { method: 'GET' })).status).toBe(405)
    expect((await call('/sandbox/x/file?path=a', { method: 'POST' })).status).toBe(405)
    const bad = await call('/sandbox/x/call/exec', { body: '{not json' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as any).error.code).toBe('VALIDATION_FAILED')
  })

  it('carries error code, message, httpStatus, operation and context across the wire', async () => {
    const sb = fresh()
    const error = await rejection(sb.readFile('/workspace/nope.txt'))
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({
      name: 'SandboxError',
      code: 'FILE_NOT_FOUND',
      httpStatus: 404,
      context: { path: '/workspace/nope.txt' },
    })
    expect(error.message).toContain('/workspace/nope.txt')
    expect(typeof error.timestamp).toBe('string')
  })

  it('gives an error without an HTTP status the one the container uses for its code', async () => {
    const sb = fresh()
    const context = await sb.createCodeContext()
    await sb.deleteCodeContext(context.id)
    expect(await rejection(sb.runCode('1', { context }))).toMatchObject({
      code: 'CONTEXT_NOT_FOUND',
      httpStatus: 404,
    })
  })

  it('streams a large binary file to writeFile byte-exact (no JSON size limit on streams)', async () => {
    const sb = fresh()
    const size = 80 * 1024 * 1024 + 3 // over the 64 MiB JSON cap
    const chunk = new Uint8Array(1024 * 1024).map((_, i) => (i * 31 + 7) % 256)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const n = Math.min(chunk.length, size - sent)
        if (n === 0) return controller.close()
        controller.enqueue(chunk.slice(0, n))
        sent += n
      },
    })
    expect(await sb.writeFile('big.bin', body)).toMatchObject({ success: true, path: 'big.bin' })
    const check = await sb.exec('stat -c %s big.bin; head -c 4 big.bin | od -An -tu1')
    expect(check.stdout.split('\n')[0]).toBe(String(size))
    expect(check.stdout.split('\n')[1]!.trim().split(/\s+/)).toEqual(['7', '38', '69', '100'])
  })

  it('refuses a JSON body over the cap with 413 and says to stream instead', async () => {
    const sb = fresh()
    const huge = 'a'.repeat(65 * 1024 * 1024)
    const error = await rejection(sb.writeFile('huge.txt', huge))
    expect(error).toMatchObject({ code: 'REQUEST_TOO_LARGE', httpStatus: 413 })
    expect(error.message).toMatch(/ReadableStream/)
  })

  it('passes execStream SSE through, and cancelling the stream kills the command', async () => {
    const sb = fresh()
    const stream = await sb.execStream('echo started; sleep 30; echo never')
    const events: ExecEvent[] = []
    for await (const event of parseSSEStream<ExecEvent>(stream)) {
      events.push(event)
      if (event.type === 'stdout') break // leaving the loop cancels the stream
    }
    expect(events[0]).toMatchObject({ type: 'start', pid: expect.any(Number) })
    expect(events.at(-1)).toMatchObject({ type: 'stdout', data: 'started\n' })
    const pid = events[0]!.pid!
    const gone = await sb.exec(
      `for i in $(seq 100); do kill -0 ${pid} 2>/dev/null || { echo gone; exit; }; sleep 0.05; done; echo alive`,
    )
    expect(gone.stdout).toBe('gone\n')
  })

  it('aborting exec through its signal kills the command on the server', async () => {
    const sb = fresh()
    const controller = new AbortController()
    const running = sb.exec('echo $$ > pid.txt; sleep 30', { signal: controller.signal })
    for (let i = 0; i < 100 && !(await sb.exists('pid.txt')).exists; i++)
      await new Promise((r) => setTimeout(r, 50))
    controller.abort()
    expect((await rejection(running)).message).toMatch(/abort/i)
    const check = await sb.exec(
      'for i in $(seq 100); do kill -0 "$(cat pid.txt)" 2>/dev/null || { echo gone; exit; }; sleep 0.05; done; echo alive',
    )
    expect(check.stdout).toBe('gone\n')
  })

  it('runs exec callbacks: onOutput live, then onComplete; onError on failure', async () => {
    const sb = fresh()
    const seen: string[] = []
    const result = await sb.exec('echo a; echo b >&2', {
      stream: true,
      onOutput: (stream, data) => seen.push(`${stream}:${data}`),
      onComplete: (r) => seen.push(`complete:${r.exitCode}`),
    })
    expect(result).toMatchObject({ stdout: 'a\n', stderr: 'b\n', exitCode: 0 })
    expect(seen.at(-1)).toBe('complete:0')
    expect(seen.filter((s) => !s.startsWith('complete')).sort()).toEqual(['stderr:b\n', 'stdout:a\n'])
    const errors: string[] = []
    await rejection(
      sb.exec('pwd', { cwd: '/workspace/missing-dir', onError: (e) => errors.push((e as any).code) }),
    )
    expect(errors).toEqual(['COMMAND_EXECUTION_ERROR'])
  })

  it('returns Dates for process and context times', async () => {
    const sb = fresh()
    const started = await sb.startProcess('true')
    expect(started.startTime).toBeInstanceOf(Date)
    const context = await sb.createCodeContext({ language: 'javascript' })
    expect(context.createdAt).toBeInstanceOf(Date)
    expect(context.lastUsed).toBeInstanceOf(Date)
  })

  it('streams process logs: output so far, then exit with the code', async () => {
    const sb = fresh() as ReturnType<typeof remoteSandbox>
    const { id } = await sb.startProcess('echo one; sleep 0.3; echo two >&2; exit 5')
    const events: any[] = []
    for await (const event of parseSSEStream<any>(await sb.streamProcessLogs(id))) events.push(event)
    const text = (type: string) =>
      events
        .filter((e) => e.type === type)
        .map((e) => e.data)
        .join('')
    expect(text('stdout')).toBe('one\n')
    expect(text('stderr')).toBe('two\n')
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 5, processId: id })
    expect((await rejection(sb.streamProcessLogs('nope'))).code).toBe('PROCESS_NOT_FOUND')
  })

  it('reports an unreachable server as RPC_TRANSPORT_ERROR connection_failed', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    const error = await rejection(remoteSandbox(`http://127.0.0.1:${port}`, 'token-xyz', 'a').exec('true'))
    expect(error).toMatchObject({ code: 'RPC_TRANSPORT_ERROR', kind: 'connection_failed' })
  })

  it('close() destroys the sandboxes it created and stops listening', async () => {
    const other = await serveLocalSandbox()
    const sb = remoteSandbox(other.url, other.token, `close-test-${process.pid}`)
    await sb.startProcess('sleep 60')
    await sb.writeFile('kept.txt', 'x')
    await other.close()
    await other.close() // idempotent
    const { existsSync } = await import('node:fs')
    const { localSandbox } = await import('../src/local/index.js')
    expect(existsSync(localSandbox(`close-test-${process.pid}`).root)).toBe(false)
    expect((await rejection(sb.exec('true'))).code).toBe('RPC_TRANSPORT_ERROR')
  })
})

describe('CLI: sandbox-agent-tools serve', () => {
  it('prints the URL and token, serves with them, and stops cleanly on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/local/cli.ts', 'serve', '--port', '0', '--isolation', 'none'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      let out = ''
      child.stdout.setEncoding('utf8')
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL and token printed: ${out}`)), 20_000)
        child.stdout.on('data', (data: string) => {
          out += data
          if (/LOCAL_SANDBOX_TOKEN=\S+\n/.test(out)) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', () => reject(new Error(`the CLI exited early: ${out}`)))
      })
      const url = /^LOCAL_SANDBOX_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1]
      const token = /^LOCAL_SANDBOX_TOKEN=(\S+)$/m.exec(out)?.[1]
      expect(url).toBeDefined()
      expect(token).toBeDefined()
      const sb = remoteSandbox(url!, token!, `cli-test-${process.pid}`)
      expect((await sb.exec('echo served')).stdout).toBe('served\n')
      expect((await fetch(`${url}/`)).status).toBe(401)
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect((await rejection(sb.exec('true'))).code).toBe('RPC_TRANSPORT_ERROR')
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('refuses an unknown command with its usage and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/cli.ts', 'bogus'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (data) => {
      err += data
    })
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2)
    expect(err).toContain('Usage: sandbox-agent-tools serve')
  })
})
