/**
 * A Worker that uses the REAL `getSandbox` (test/workerd/entry.ts), its `Sandbox` binding pointed
 * at LocalSandboxDO: exec, streaming, binary files, runCode, processes, exposePort, destroy — and
 * what the stand-in itself promises (its id is the object's name, errors keep their codes,
 * Cloudflare's destroy semantics, setEnvVars, eviction).
 */

import { evictDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { getSandbox } from '@cloudflare/sandbox'
import { afterEach, describe, expect, it } from 'vitest'
import type { ExecEvent, ExecResult, ExecutionResult, ProcessInfo } from '../../src/backend.js'
import { remoteSandbox } from '../../src/local/client.js'
import { createSession } from '../../src/session.js'
import { parseSSEStream } from '../../src/sse.js'

let counter = 0
const used: string[] = []
const newId = () => {
  const id = `worker-${Date.now().toString(36)}-${++counter}`
  used.push(id)
  return id
}
afterEach(async () => {
  await Promise.all(used.splice(0).map((id) => getSandbox(env.Sandbox, id).destroy()))
})

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://example.com${path}`, init)

async function json<T>(response: Response): Promise<T> {
  expect(response.headers.get('content-type')).toContain('application/json')
  return (await response.json()) as T
}

async function failure(promise: Promise<unknown>): Promise<Record<string, any>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, any>
  }
  throw new Error('expected the call to fail')
}

describe('a Worker on getSandbox() with the Sandbox binding on LocalSandboxDO', () => {
  for (const session of ['sessionless', 'default'] as const) {
    it(`runs commands (${session} session)`, async () => {
      const id = newId()
      const q = `id=${id}${session === 'default' ? '&session=default' : ''}`
      const result = await json<ExecResult>(
        await worker(`/exec?${q}`, {
          method: 'POST',
          body: 'echo "hello from $(pwd)"; echo warn >&2; exit 3',
        }),
      )
      expect(result).toMatchObject({
        success: false,
        exitCode: 3,
        stdout: 'hello from /workspace\n',
        stderr: 'warn\n',
      })
      const timedOut = await json<ExecResult>(
        await worker(`/exec?${q}&timeout=500`, { method: 'POST', body: 'sleep 30' }),
      )
      expect(timedOut.exitCode).toBe(124)
    })
  }

  it('streams a command through the Worker as SSE', async () => {
    const response = await worker(`/exec-stream?id=${newId()}`, {
      method: 'POST',
      body: 'for i in 1 2 3; do echo line $i; sleep 0.05; done',
    })
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const events: ExecEvent[] = []
    for await (const event of parseSSEStream<ExecEvent>(response.body!)) events.push(event)
    expect(events[0]?.type).toBe('start')
    expect(
      events
        .filter((e) => e.type === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe('line 1\nline 2\nline 3\n')
    expect(events.at(-1)).toMatchObject({ type: 'complete', exitCode: 0 })
  })

  it('uploads and downloads binary files byte-exact (a request body streamed to writeFile)', async () => {
    const id = newId()
    const bytes = new Uint8Array(256 * 40).map((_, i) => (i * 37 + 11) % 256)
    const put = await json<{ success: boolean }>(
      await worker(`/file?id=${id}&path=/workspace/data/blob.bin`, { method: 'PUT', body: bytes }),
    )
    expect(put.success).toBe(true)
    const response = await worker(`/file?id=${id}&path=/workspace/data/blob.bin`)
    expect(response.headers.get('x-binary')).toBe('true')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes)
    const sum = await json<ExecResult>(
      await worker(`/exec?id=${id}`, { method: 'POST', body: 'wc -c < data/blob.bin' }),
    )
    expect(sum.stdout.trim()).toBe(String(bytes.length))

    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])
    await worker(`/file?id=${id}&path=pic.png`, { method: 'PUT', body: png })
    const image = await worker(`/file?id=${id}&path=pic.png`)
    expect(image.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(png)
  })

  it('reports a missing file with its code and status through the Worker', async () => {
    const response = await worker(`/file?id=${newId()}&path=/workspace/nothing-here.txt`)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ code: 'FILE_NOT_FOUND' })
  })

  it('runs Python and JavaScript with runCode', async () => {
    const id = newId()
    const python = await json<ExecutionResult>(
      await worker(`/code?id=${id}`, {
        method: 'POST',
        body: 'import sys\nprint(sys.version_info[0])\n6 * 7',
      }),
    )
    expect(python.logs.stdout.join('')).toBe('3\n')
    expect(python.results).toEqual([{ text: '42' }])
    const js = await json<ExecutionResult>(
      await worker(`/code?id=${id}&language=javascript`, {
        method: 'POST',
        body: '[1, 2, 3].map((n) => n * 2)',
      }),
    )
    expect(js.results[0]?.json).toEqual([2, 4, 6])
    const failed = await json<ExecutionResult>(
      await worker(`/code?id=${id}`, { method: 'POST', body: 'undefined_name' }),
    )
    expect(failed.error?.name).toBe('NameError')
  })

  it('runs a background server, exposes its port at a URL the Worker can fetch, and kills it', async () => {
    const id = newId()
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    const command = `node -e "require('http').createServer((q, s) => s.end('served by ' + q.url)).listen(${port}, () => console.log('listening'))"`
    const started = await json<ProcessInfo>(
      await worker(`/process?id=${id}&name=web`, { method: 'POST', body: command }),
    )
    expect(started).toMatchObject({ id: 'web', status: 'running' })
    for (let i = 0; ; i++) {
      const state = await json<{ logs: { stdout: string } }>(await worker(`/process?id=${id}&pid=web`))
      if (state.logs.stdout.includes('listening')) break
      if (i > 200) throw new Error('the server did not start')
      await new Promise((r) => setTimeout(r, 50))
    }
    const exposed = await json<{ url: string; port: number; name: string }>(
      await worker(`/expose?id=${id}&port=${port}`, { method: 'POST' }),
    )
    expect(exposed).toMatchObject({ port, name: 'web' })
    expect(exposed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(await (await fetch(`${exposed.url}hello`)).text()).toBe('served by /hello')

    expect((await worker(`/process?id=${id}&pid=web`, { method: 'DELETE' })).status).toBe(204)
    for (let i = 0; ; i++) {
      const state = await json<{ process: ProcessInfo }>(await worker(`/process?id=${id}&pid=web`))
      if (state.process.exitCode !== undefined) {
        expect(state.process).toMatchObject({ status: 'killed', exitCode: 143 })
        break
      }
      if (i > 200) throw new Error('the server was not killed')
      await new Promise((r) => setTimeout(r, 50))
    }
  })

  it('destroys the sandbox: processes and files gone, the id starts fresh', async () => {
    const id = newId()
    await worker(`/file?id=${id}&path=left.txt`, { method: 'PUT', body: 'left behind' })
    const sleeper = await json<ProcessInfo>(
      await worker(`/process?id=${id}`, { method: 'POST', body: 'sleep 60' }),
    )
    expect((await worker(`/sandbox?id=${id}`, { method: 'DELETE' })).status).toBe(204)
    const after = await json<ExecResult>(await worker(`/exec?id=${id}`, { method: 'POST', body: 'ls -A' }))
    expect(after).toMatchObject({ exitCode: 0, stdout: '' })
    const gone = await json<{ process: ProcessInfo | null }>(
      await worker(`/process?id=${id}&pid=${sleeper.id}`),
    )
    expect(gone.process).toBeNull()
  })
})

describe('LocalSandboxDO, through the real getSandbox()', () => {
  it('forwards with the object name as the sandbox id', async () => {
    const id = newId()
    await getSandbox(env.Sandbox, id).writeFile('/workspace/who.txt', `I am ${id}`)
    // the same sandbox, addressed directly on the loopback server
    const direct = remoteSandbox(env.LOCAL_SANDBOX_URL, env.LOCAL_SANDBOX_TOKEN, id)
    expect((await direct.readFile('/workspace/who.txt')).content).toBe(`I am ${id}`)
    const other = remoteSandbox(env.LOCAL_SANDBOX_URL, env.LOCAL_SANDBOX_TOKEN, `${id}-other`)
    expect((await other.exists('/workspace/who.txt')).exists).toBe(false)
    await other.destroy()
  })

  it('keeps its sandbox id across an eviction of the object', async () => {
    const id = newId()
    const sandbox = getSandbox(env.Sandbox, id)
    await sandbox.writeFile('/workspace/kept.txt', 'kept')
    await evictDurableObject(env.Sandbox.get(env.Sandbox.idFromName(id)))
    expect((await getSandbox(env.Sandbox, id).readFile('/workspace/kept.txt')).content).toBe('kept')
  })

  it('like Cloudflare, destroy() is idempotent and the same handle then gets a fresh, empty sandbox', async () => {
    const id = newId()
    const sandbox = getSandbox(env.Sandbox, id, { enableDefaultSession: false })
    await sandbox.writeFile('/workspace/x.txt', 'x')
    await sandbox.startProcess('sleep 60')
    await Promise.all([sandbox.destroy(), sandbox.destroy()])
    await sandbox.destroy()
    expect((await sandbox.exists('/workspace/x.txt')).exists).toBe(false)
    expect(await sandbox.listProcesses()).toEqual([])
    expect((await sandbox.exec('echo again')).stdout).toBe('again\n')
  })

  it('rethrows sandbox errors with their code, httpStatus and context', async () => {
    const sandbox = getSandbox(env.Sandbox, newId())
    expect(await failure(sandbox.readFile('/workspace/missing.txt'))).toMatchObject({
      name: 'SandboxError',
      code: 'FILE_NOT_FOUND',
      httpStatus: 404,
      context: { path: '/workspace/missing.txt' },
    })
    expect(await failure(sandbox.exposePort(80, { hostname: 'example.com' }))).toMatchObject({
      code: 'INVALID_PORT',
      httpStatus: 400,
    })
    expect((await failure(sandbox.getProcessLogs('nope'))).code).toBe('PROCESS_NOT_FOUND')
    expect((await failure(sandbox.createSession())).code).toBe('NOT_SUPPORTED')
  })

  it('applies setEnvVars to later commands and processes; per-call env wins', async () => {
    const sandbox = getSandbox(env.Sandbox, newId())
    await sandbox.setEnvVars({ GREETING: 'hi', OTHER: 'x' })
    expect((await sandbox.exec('echo "$GREETING $OTHER"')).stdout).toBe('hi x\n')
    expect((await sandbox.exec('echo "$GREETING"', { env: { GREETING: 'per call' } })).stdout).toBe(
      'per call\n',
    )
    await sandbox.setEnvVars({ OTHER: undefined })
    expect((await sandbox.exec('echo "[$OTHER]"')).stdout).toBe('[]\n')
  })

  it('calls onOutput and onComplete over RPC for exec with stream: true', async () => {
    const sandbox = getSandbox(env.Sandbox, newId())
    const seen: string[] = []
    const result = await sandbox.exec('echo one; echo two', {
      stream: true,
      onOutput: (stream, data) => {
        seen.push(`${stream}:${data}`)
      },
      onComplete: (r) => {
        seen.push(`complete:${r.exitCode}`)
      },
    })
    expect(result.stdout).toBe('one\ntwo\n')
    const streamed = seen
      .filter((s) => s.startsWith('stdout:'))
      .map((s) => s.slice('stdout:'.length))
      .join('')
    expect(streamed).toBe('one\ntwo\n')
    expect(seen.at(-1)).toBe('complete:0')
  })

  it('streams process logs until the process exits', async () => {
    const sandbox = getSandbox(env.Sandbox, newId())
    const { id } = await sandbox.startProcess('echo first; sleep 0.2; echo second; exit 2')
    const events: { type: string; data?: string; exitCode?: number }[] = []
    for await (const event of parseSSEStream<{ type: string; data?: string; exitCode?: number }>(
      await sandbox.streamProcessLogs(id),
    ))
      events.push(event)
    expect(
      events
        .filter((e) => e.type === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe('first\nsecond\n')
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 2 })
  })
})

describe('SandboxSession over getSandbox() (the whole stack inside a Worker)', () => {
  // The session keeps abort signals on its own side: an AbortSignal cannot cross DO RPC.
  it('runs a command and keeps the cwd', async () => {
    const id = newId()
    const session = createSession({
      sandbox: () => getSandbox(env.Sandbox, id, { enableDefaultSession: false }),
    })
    try {
      expect((await session.exec('mkdir -p sub && cd sub')).exitCode).toBe(0)
      const result = await session.exec('pwd')
      expect(result.exitCode).toBe(0)
      expect(result.cwd).toBe('/workspace/sub')
    } finally {
      await session.destroy()
    }
  })
})
