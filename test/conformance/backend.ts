/**
 * The backend conformance suite: what the session relies on from any SandboxBackend (the real
 * Cloudflare sandbox, LocalSandbox, the workerd stand-in). Written against the interface only.
 * Commands use paths relative to /workspace (their cwd): in a backend without isolation an absolute
 * path inside a command is a host path.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ExecEvent, ProcessInfo, SandboxBackend } from '../../src/backend.js'
import { parseSSEStream } from '../../src/sse.js'

/** A fresh lowercase sandbox id (no `process` or `Buffer` here: the suite also runs in workerd). */
const newId = () => `conformance-${crypto.randomUUID().slice(0, 13)}`

const utf8Length = (text: string) => new TextEncoder().encode(text).length
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes))
const fromBase64 = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  deadlineMs = 15_000,
): Promise<T> {
  const until = Date.now() + deadlineMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise
  } catch (error) {
    return error as { code?: string; message: string }
  }
  throw new Error('expected the call to fail')
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  for await (const event of parseSSEStream<ExecEvent>(stream)) events.push(event)
  return events
}

/** A port for a test server (a backend without its own network shares the host's ports). */
const freePort = () => 20_000 + Math.floor(Math.random() * 30_000)

/** A Node HTTP server answering `body` on `port`, for process and port tests. */
const server = (port: number, body: string) =>
  `node -e "require('http').createServer((q, s) => s.end('${body}')).listen(${port}, () => console.log('listening'))"`

export function describeBackendConformance(name: string, makeBackend: (id: string) => SandboxBackend): void {
  describe(`SandboxBackend conformance: ${name}`, () => {
    const made: SandboxBackend[] = []
    const sandbox = () => {
      const backend = makeBackend(newId())
      made.push(backend)
      return backend
    }
    afterEach(async () => {
      await Promise.all(made.splice(0).map((b) => b.destroy()))
    })

    describe('exec', () => {
      it('returns stdout with its trailing newline, exit code 0 and the result fields', async () => {
        const result = await sandbox().exec('echo hello')
        expect(result).toMatchObject({
          success: true,
          exitCode: 0,
          stdout: 'hello\n',
          stderr: '',
          command: 'echo hello',
        })
        expect(typeof result.duration).toBe('number')
        expect(new Date(result.timestamp).toISOString()).toBe(result.timestamp)
      })

      it('reports a non-zero exit code, keeping the output before it', async () => {
        const result = await sandbox().exec('echo c; echo oops >&2; exit 3')
        expect(result).toMatchObject({ success: false, exitCode: 3, stdout: 'c\n', stderr: 'oops\n' })
      })

      it('reports a syntax error as exit code 2 instead of hanging', async () => {
        const result = await sandbox().exec("echo 'oops", { timeout: 10_000 })
        expect(result.exitCode).toBe(2)
        expect(result.stderr).toMatch(/unexpected EOF|unterminated|matching/)
      })

      it('runs in /workspace by default and in the given cwd', async () => {
        const sb = sandbox()
        await sb.mkdir('/workspace/sub/dir', { recursive: true })
        await sb.exec('echo here > in-cwd.txt', { cwd: '/workspace/sub/dir' })
        await sb.exec('echo top > in-default.txt')
        expect((await sb.readFile('/workspace/sub/dir/in-cwd.txt')).content).toBe('here\n')
        expect((await sb.readFile('/workspace/in-default.txt')).content).toBe('top\n')
      })

      it('passes env per call without persisting it', async () => {
        const sb = sandbox()
        expect((await sb.exec('echo "$GREETING"', { env: { GREETING: 'hi there' } })).stdout).toBe(
          'hi there\n',
        )
        expect((await sb.exec('echo "[$GREETING]"')).stdout).toBe('[]\n')
      })

      it('gives commands an empty stdin, so a command reading it does not hang', async () => {
        const result = await sandbox().exec('cat; echo done', { timeout: 10_000 })
        expect(result).toMatchObject({ exitCode: 0, stdout: 'done\n' })
      })

      it('on timeout returns 124 with partial output and the timeout note in stderr', async () => {
        const result = await sandbox().exec('echo partial; sleep 30', { timeout: 500 })
        expect(result).toMatchObject({ success: false, exitCode: 124, stdout: 'partial\n' })
        expect(result.stderr).toContain('Command timed out after 500ms')
      })

      it('on timeout kills background children too', async () => {
        const sb = sandbox()
        const result = await sb.exec('sleep 30 & echo $! > bg.pid; wait', { timeout: 500 })
        expect(result.exitCode).toBe(124)
        const check = await sb.exec(
          'for i in $(seq 100); do kill -0 "$(cat bg.pid)" 2>/dev/null || { echo dead; exit; }; sleep 0.1; done; echo alive',
        )
        expect(check.stdout).toBe('dead\n')
      })

      it('keeps large output whole', async () => {
        const result = await sandbox().exec("head -c 1000000 /dev/zero | tr '\\0' a")
        expect(result.stdout.length).toBe(1_000_000)
      })

      it('streams output to onOutput when stream is set, and still returns the result', async () => {
        const chunks: { stream: string; data: string }[] = []
        const result = await sandbox().exec('echo one; echo two >&2; echo three', {
          stream: true,
          onOutput: (stream, data) => chunks.push({ stream, data }),
        })
        expect(result).toMatchObject({ stdout: 'one\nthree\n', stderr: 'two\n' })
        const streamed = (name: string) =>
          chunks
            .filter((c) => c.stream === name)
            .map((c) => c.data)
            .join('')
        expect(streamed('stdout')).toBe('one\nthree\n')
        expect(streamed('stderr')).toBe('two\n')
      })

      it('rejects when the signal is already aborted', async () => {
        const controller = new AbortController()
        controller.abort()
        const error = await rejection(sandbox().exec('echo never', { signal: controller.signal }))
        expect(error.message).toMatch(/abort/i)
      })
    })

    describe('execStream', () => {
      it('emits start, output chunks in order, then complete with the exit code', async () => {
        const events = await collect(
          await sandbox().execStream('for i in 1 2 3; do echo $i; done; echo warn >&2; exit 4'),
        )
        expect(events[0]?.type).toBe('start')
        expect(events.at(-1)).toMatchObject({ type: 'complete', exitCode: 4 })
        const stdout = events
          .filter((e) => e.type === 'stdout')
          .map((e) => e.data)
          .join('')
        const stderr = events
          .filter((e) => e.type === 'stderr')
          .map((e) => e.data)
          .join('')
        expect(stdout).toBe('1\n2\n3\n')
        expect(stderr).toBe('warn\n')
        for (const e of events) expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp)
      })

      it('reports a timeout as a stderr note and exit code 124', async () => {
        const events = await collect(await sandbox().execStream('echo before; sleep 30', { timeout: 500 }))
        expect(
          events
            .filter((e) => e.type === 'stdout')
            .map((e) => e.data)
            .join(''),
        ).toBe('before\n')
        expect(
          events.some((e) => e.type === 'stderr' && e.data?.includes('Command timed out after 500ms')),
        ).toBe(true)
        expect(events.at(-1)).toMatchObject({ type: 'complete', exitCode: 124 })
      })

      it('carries large output whole', async () => {
        const events = await collect(await sandbox().execStream("head -c 3000000 /dev/zero | tr '\\0' b"))
        const stdout = events
          .filter((e) => e.type === 'stdout')
          .map((e) => e.data)
          .join('')
        expect(stdout.length).toBe(3_000_000)
      })
    })

    describe('files', () => {
      it('writes and reads utf-8 text, creating parent folders', async () => {
        const sb = sandbox()
        const text = 'héllo wörld ✓\nline 2\n'
        expect(await sb.writeFile('/workspace/deep/er/a.txt', text)).toMatchObject({
          success: true,
          path: '/workspace/deep/er/a.txt',
        })
        const read = await sb.readFile('/workspace/deep/er/a.txt')
        expect(read).toMatchObject({ success: true, content: text, encoding: 'utf-8', isBinary: false })
        expect(read.size).toBe(utf8Length(text))
        expect((await sb.exec('cat deep/er/a.txt')).stdout).toBe(text)
      })

      it('takes relative paths from /workspace', async () => {
        const sb = sandbox()
        await sb.writeFile('rel.txt', 'relative')
        expect((await sb.readFile('/workspace/rel.txt')).content).toBe('relative')
      })

      it('round-trips binary content byte-exact through base64', async () => {
        const sb = sandbox()
        const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256)
        await sb.writeFile('/workspace/blob.bin', toBase64(bytes), { encoding: 'base64' })
        const read = await sb.readFile('/workspace/blob.bin')
        expect(read).toMatchObject({ encoding: 'base64', isBinary: true, size: 512 })
        expect(fromBase64(read.content)).toEqual(bytes)
        expect((await sb.exec('od -An -tx1 -N4 blob.bin')).stdout.trim()).toBe('00 07 0e 15')
      })

      it('detects a PNG written by a command as binary with its MIME type', async () => {
        const sb = sandbox()
        await sb.exec("printf '\\x89PNG\\r\\n\\x1a\\n\\x00\\x00' > image.png")
        const read = await sb.readFile('image.png')
        expect(read).toMatchObject({ isBinary: true, encoding: 'base64', mimeType: 'image/png' })
        expect(atob(read.content).slice(0, 4)).toBe('\x89PNG')
      })

      it('reads text as base64 when asked', async () => {
        const sb = sandbox()
        await sb.writeFile('t.txt', 'abc')
        expect(await sb.readFile('t.txt', { encoding: 'base64' })).toMatchObject({
          content: 'YWJj',
          encoding: 'base64',
        })
      })

      it('writes a ReadableStream body', async () => {
        const sb = sandbox()
        const parts = ['stream', 'ed ', 'body']
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
            controller.close()
          },
        })
        await sb.writeFile('/workspace/s/streamed.txt', body)
        expect((await sb.readFile('/workspace/s/streamed.txt')).content).toBe('streamed body')
      })

      it('fails with the SDK codes: FILE_NOT_FOUND, IS_DIRECTORY, NOT_DIRECTORY', async () => {
        const sb = sandbox()
        await sb.mkdir('/workspace/d')
        await sb.writeFile('/workspace/f.txt', 'x')
        expect((await rejection(sb.readFile('/workspace/missing.txt'))).code).toBe('FILE_NOT_FOUND')
        expect((await rejection(sb.readFile('/workspace/d'))).code).toBe('IS_DIRECTORY')
        expect((await rejection(sb.listFiles('/workspace/f.txt'))).code).toBe('NOT_DIRECTORY')
        expect((await rejection(sb.listFiles('/workspace/nope'))).code).toBe('FILE_NOT_FOUND')
        expect((await rejection(sb.deleteFile('/workspace/missing.txt'))).code).toBe('FILE_NOT_FOUND')
        expect((await rejection(sb.deleteFile('/workspace/d'))).code).toBe('IS_DIRECTORY')
        expect((await rejection(sb.renameFile('/workspace/missing', '/workspace/x'))).code).toBe(
          'FILE_NOT_FOUND',
        )
      })

      it('makes folders, recursively when asked', async () => {
        const sb = sandbox()
        expect(await sb.mkdir('/workspace/a/b/c', { recursive: true })).toMatchObject({
          success: true,
          recursive: true,
        })
        expect((await sb.exists('/workspace/a/b/c')).exists).toBe(true)
        await rejection(sb.mkdir('/workspace/x/y'))
        expect((await sb.exists('/workspace/x')).exists).toBe(false)
      })

      it('deletes files, renames and moves like mv', async () => {
        const sb = sandbox()
        await sb.writeFile('/workspace/one.txt', '1')
        await sb.mkdir('/workspace/dir')
        expect(await sb.renameFile('/workspace/one.txt', '/workspace/two.txt')).toMatchObject({
          success: true,
        })
        expect((await sb.exists('/workspace/one.txt')).exists).toBe(false)
        await sb.moveFile('/workspace/two.txt', '/workspace/dir')
        expect((await sb.readFile('/workspace/dir/two.txt')).content).toBe('1')
        expect(await sb.deleteFile('/workspace/dir/two.txt')).toMatchObject({ success: true })
        expect((await sb.exists('/workspace/dir/two.txt')).exists).toBe(false)
      })

      it('lists files with the FileInfo shape, recursive and hidden on request', async () => {
        const sb = sandbox()
        await sb.writeFile('/workspace/list/top.txt', 'top')
        await sb.writeFile('/workspace/list/sub/inner.txt', 'inner!')
        await sb.writeFile('/workspace/list/.hidden', 'h')
        const flat = await sb.listFiles('/workspace/list')
        expect(flat.files.map((f) => f.name).sort()).toEqual(['sub', 'top.txt'])
        expect(flat.count).toBe(2)
        const top = flat.files.find((f) => f.name === 'top.txt')
        expect(top).toMatchObject({
          absolutePath: '/workspace/list/top.txt',
          relativePath: 'top.txt',
          type: 'file',
          size: 3,
          permissions: { readable: true, writable: true },
        })
        expect(top?.mode).toMatch(/^[r-][w-][x-]{1}[r-][w-][x-][r-][w-][x-]$/)
        expect(Number.isNaN(Date.parse(top?.modifiedAt ?? ''))).toBe(false)
        expect(flat.files.find((f) => f.name === 'sub')?.type).toBe('directory')
        const deep = await sb.listFiles('/workspace/list', { recursive: true })
        expect(deep.files.map((f) => f.relativePath).sort()).toEqual(['sub', 'sub/inner.txt', 'top.txt'])
        const hidden = await sb.listFiles('/workspace/list', { includeHidden: true })
        expect(hidden.files.map((f) => f.name)).toContain('.hidden')
      })

      it('tells whether files and folders exist', async () => {
        const sb = sandbox()
        await sb.writeFile('/workspace/e.txt', 'e')
        expect((await sb.exists('/workspace/e.txt')).exists).toBe(true)
        expect((await sb.exists('/workspace')).exists).toBe(true)
        expect((await sb.exists('/workspace/none.txt')).exists).toBe(false)
      })

      it('shows files written by commands and commands see files written by the API', async () => {
        const sb = sandbox()
        await sb.exec('mkdir -p made && echo from-shell > made/by-shell.txt')
        expect((await sb.readFile('/workspace/made/by-shell.txt')).content).toBe('from-shell\n')
        await sb.writeFile('/workspace/made/by-api.txt', 'from-api')
        expect((await sb.exec('cat made/by-api.txt')).stdout).toBe('from-api')
      })
    })

    describe('processes', () => {
      it('starts a background process, lists it, collects its logs and sees it complete', async () => {
        const sb = sandbox()
        const started = await sb.startProcess('echo out; echo err >&2; sleep 0.3; echo bye')
        expect(started).toMatchObject({
          status: 'running',
          command: 'echo out; echo err >&2; sleep 0.3; echo bye',
        })
        expect(started.id).toEqual(expect.any(String))
        expect((await sb.listProcesses()).map((p) => p.id)).toContain(started.id)
        const done = await eventually(async () => {
          const p = await sb.getProcess(started.id)
          return p?.status === 'completed' ? p : undefined
        }, 'the process to complete')
        expect(done).toMatchObject({ exitCode: 0 })
        expect(done.endTime).toBeInstanceOf(Date)
        const logs = await sb.getProcessLogs(started.id)
        expect(logs).toEqual({ stdout: 'out\nbye\n', stderr: 'err\n', processId: started.id })
      })

      it('reports a failing process as failed with its exit code', async () => {
        const sb = sandbox()
        const { id } = await sb.startProcess('exit 7')
        const p = await eventually(async () => {
          const p = await sb.getProcess(id)
          return p?.status === 'failed' ? p : undefined
        }, 'the process to fail')
        expect(p.exitCode).toBe(7)
      })

      it('takes a processId, kills a process (status killed, exit code 143)', async () => {
        const sb = sandbox()
        const p = await sb.startProcess('sleep 60', { processId: 'sleeper' })
        expect(p.id).toBe('sleeper')
        await sb.killProcess('sleeper')
        const killed = await eventually(async () => {
          const q = await sb.getProcess('sleeper')
          return q?.exitCode !== undefined ? q : undefined
        }, 'the process to end')
        expect(killed).toMatchObject({ status: 'killed', exitCode: 143 })
      })

      it('kills all running processes and says how many', async () => {
        const sb = sandbox()
        await sb.startProcess('sleep 60')
        await sb.startProcess('sleep 60')
        expect(await sb.killAllProcesses()).toBe(2)
        await eventually(async () => {
          const list = await sb.listProcesses()
          return list.every((p: ProcessInfo) => p.status === 'killed') ? true : undefined
        }, 'every process to be killed')
      })

      it('returns null for an unknown process and PROCESS_NOT_FOUND for its logs', async () => {
        const sb = sandbox()
        expect(await sb.getProcess('nope')).toBeNull()
        expect((await rejection(sb.getProcessLogs('nope'))).code).toBe('PROCESS_NOT_FOUND')
      })

      it('runs a server that later commands reach on localhost', async () => {
        const sb = sandbox()
        const port = freePort()
        const { id } = await sb.startProcess(server(port, 'hello from inside'))
        await eventually(
          async () => ((await sb.getProcessLogs(id)).stdout.includes('listening') ? true : undefined),
          'the server',
        )
        const fetched = await sb.exec(
          `node -e "fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => console.log(t))"`,
        )
        expect(fetched.stdout).toBe('hello from inside\n')
      })
    })

    describe('ports', () => {
      it('exposes a port at a URL that reaches the server, lists it and unexposes it', async () => {
        const sb = sandbox()
        const port = freePort()
        const { id } = await sb.startProcess(server(port, 'exposed!'))
        await eventually(
          async () => ((await sb.getProcessLogs(id)).stdout.includes('listening') ? true : undefined),
          'the server',
        )
        const exposed = await sb.exposePort(port, { hostname: 'example.com', name: 'web' })
        expect(exposed).toMatchObject({ port, name: 'web' })
        const response = await fetch(exposed.url)
        expect(await response.text()).toBe('exposed!')
        expect(await sb.getExposedPorts('example.com')).toEqual([
          { url: exposed.url, port, status: 'active' },
        ])
        await sb.unexposePort(port)
        expect(await sb.getExposedPorts('example.com')).toEqual([])
      })

      it('refuses ports outside 1024-65535 and 3000 with INVALID_PORT', async () => {
        const sb = sandbox()
        expect((await rejection(sb.exposePort(80, { hostname: 'example.com' }))).code).toBe('INVALID_PORT')
        expect((await rejection(sb.exposePort(3000, { hostname: 'example.com' }))).code).toBe('INVALID_PORT')
      })
    })

    describe('destroy', () => {
      it('is idempotent and ends the sandbox: later calls fail with SANDBOX_DESTROYED', async () => {
        const sb = sandbox()
        await sb.writeFile('/workspace/x.txt', 'x')
        await Promise.all([sb.destroy(), sb.destroy()])
        await sb.destroy()
        expect((await rejection(sb.exec('true'))).code).toBe('SANDBOX_DESTROYED')
        expect((await rejection(sb.readFile('/workspace/x.txt'))).code).toBe('SANDBOX_DESTROYED')
      })

      it('gives a fresh, empty sandbox for the same id afterwards', async () => {
        const id = newId()
        const first = makeBackend(id)
        made.push(first)
        await first.writeFile('/workspace/left.txt', 'left behind')
        await first.startProcess('sleep 60')
        await first.destroy()
        const second = makeBackend(id)
        made.push(second)
        expect((await second.exists('/workspace/left.txt')).exists).toBe(false)
        expect(await second.listProcesses()).toEqual([])
        expect((await second.exec('echo alive')).stdout).toBe('alive\n')
      })
    })
  })
}
