import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ExecEvent } from '../src/backend.js'
import {
  type LocalSandbox,
  type LocalSandboxOptions,
  localSandbox,
  parseSSEStream,
} from '../src/local/index.js'
import { bwrapAvailable, findTool } from '../src/local/isolation.js'
import { encodeSSE } from '../src/sse.js'
import { describeBackendConformance } from './conformance/backend.js'

const hasBwrap = bwrapAvailable()

describe.skipIf(!hasBwrap)('with bubblewrap', () => {
  describeBackendConformance('LocalSandbox (bwrap)', (id) => localSandbox(id, { isolation: 'bwrap' }))
})
describeBackendConformance('LocalSandbox (no isolation)', (id) => localSandbox(id, { isolation: 'none' }))

let counter = 0
const made: LocalSandbox[] = []
const sandbox = (options: LocalSandboxOptions = {}) => {
  const sb = localSandbox(`local-test-${process.pid}-${++counter}`, options)
  made.push(sb)
  return sb
}
afterEach(async () => {
  await Promise.all(made.splice(0).map((sb) => sb.destroy()))
})

/** Host pids whose command line starts with `prefix`. */
function hostProcesses(prefix: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').startsWith(prefix)
      } catch {
        return false
      }
    })
    .map(Number)
}

async function waitFor(check: () => boolean, what: string) {
  const until = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('localSandbox', () => {
  it('returns the same sandbox for the same id until it is destroyed, then a fresh one', async () => {
    const id = `same-${process.pid}`
    const first = localSandbox(id, { isolation: 'none' })
    expect(localSandbox(id)).toBe(first)
    await first.writeFile('keep.txt', 'x')
    expect(existsSync(join(first.root, 'keep.txt'))).toBe(true)
    await first.destroy()
    expect(existsSync(first.root)).toBe(false)
    const second = localSandbox(id, { isolation: 'none' })
    made.push(second)
    expect(second).not.toBe(first)
    expect((await second.exists('keep.txt')).exists).toBe(false)
  })

  it('shows its isolation: bwrap when available on auto, none when forced', () => {
    expect(sandbox({ isolation: 'none' }).isolation).toBe('none')
    expect(sandbox().isolation).toBe(hasBwrap ? 'bwrap' : 'none')
  })

  it('puts /workspace in the root folder given, and keeps that folder if it existed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sat-root-'))
    const sb = sandbox({ root, isolation: 'none' })
    await sb.exec('echo made > here.txt')
    expect(readFileSync(join(root, 'here.txt'), 'utf8')).toBe('made\n')
    await sb.destroy()
    expect(existsSync(root)).toBe(true)
    rmSync(root, { recursive: true })
  })

  it('maps /workspace in cwd and the file API to the host folder without isolation', async () => {
    const sb = sandbox({ isolation: 'none' })
    await sb.mkdir('/workspace/src')
    expect((await sb.exec('pwd', { cwd: '/workspace/src' })).stdout).toBe(`${join(sb.root, 'src')}\n`)
    expect((await sb.exec('echo tmp > "$TMPDIR/t.txt"; echo home > "$HOME/h.txt"')).exitCode).toBe(0)
    expect((await sb.readFile('/tmp/t.txt')).content).toBe('tmp\n')
    expect((await sb.readFile('/root/h.txt')).content).toBe('home\n')
  })

  it('fails with COMMAND_EXECUTION_ERROR when the working directory does not exist', async () => {
    const error = await sandbox()
      .exec('pwd', { cwd: '/workspace/missing' })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'COMMAND_EXECUTION_ERROR', httpStatus: 500 })
  })

  it('throws errors shaped like the SDK: code, httpStatus, operation', async () => {
    const error = await sandbox()
      .readFile('/workspace/nothing.txt')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ code: 'FILE_NOT_FOUND', httpStatus: 404, operation: 'file.read' })
  })

  it('refuses writes to read-only system folders through the file API', async () => {
    const sb = sandbox()
    expect(await sb.writeFile('/usr/sat-test', 'x').catch((e: unknown) => e)).toMatchObject({
      code: 'READ_ONLY',
    })
    expect(existsSync('/usr/sat-test')).toBe(false)
    expect((await sb.readFile('/etc/os-release')).content).toBe(readFileSync('/etc/os-release', 'utf8'))
  })

  it('runs the code interpreter inside the sandbox', async () => {
    const sb = sandbox()
    await sb.writeFile('/workspace/data.txt', 'from the workspace')
    const result = await sb.runCode("open('data.txt').read()")
    expect(result.results[0]?.text).toBe("'from the workspace'")
  })

  it('pauses a command whose stream is not read, so memory stays bounded', async () => {
    const sb = sandbox()
    const stream = await sb.execStream("head -c 50000000 /dev/zero | tr '\\0' a; touch finished")
    await new Promise((r) => setTimeout(r, 1_000))
    expect((await sb.exists('/workspace/finished')).exists).toBe(false)
    let bytes = 0
    let last: ExecEvent | undefined
    for await (const event of parseSSEStream<ExecEvent>(stream)) {
      if (event.type === 'stdout') bytes += event.data?.length ?? 0
      last = event
    }
    expect(bytes).toBe(50_000_000)
    expect(last).toMatchObject({ type: 'complete', exitCode: 0 })
    expect((await sb.exists('/workspace/finished')).exists).toBe(true)
  })

  it('kills a command when its stream is cancelled', async () => {
    const sb = sandbox()
    const tag = `${process.pid}${counter}71`
    const stream = await sb.execStream(`sleep ${tag}`)
    await waitFor(() => hostProcesses(`sleep ${tag}`).length > 0, 'the command to start')
    await stream.cancel()
    await waitFor(() => hostProcesses(`sleep ${tag}`).length === 0, 'the command to be killed')
  })

  for (const isolation of hasBwrap ? (['bwrap', 'none'] as const) : (['none'] as const)) {
    it(`destroy leaves no process behind (${isolation})`, async () => {
      const sb = sandbox({ isolation })
      const tag = `${process.pid}${counter}99`
      await sb.startProcess(`sleep ${tag}1`)
      await sb.exec(`nohup sleep ${tag}2 >/dev/null 2>&1 &`)
      await sb.exec(`setsid sleep ${tag}3 >/dev/null 2>&1 &`)
      const running = sb.exec(`sleep ${tag}4`)
      await waitFor(() => hostProcesses(`sleep ${tag}`).length === 4, 'four sleeps')
      await sb.destroy()
      expect(hostProcesses(`sleep ${tag}`)).toEqual([])
      expect((await running).exitCode).toBe(137)
      expect(existsSync(sb.root)).toBe(false)
    })
  }
})

describe.skipIf(!hasBwrap)('process lifetime (bwrap)', () => {
  it('destroy completes with nothing else to do; a sandbox left alive neither keeps the process nor outlives it', () => {
    const script = join(tmpdir(), `sat-lifetime-${process.pid}.mts`)
    const entry = pathToFileURL(join(process.cwd(), 'src/local/index.ts')).href
    writeFileSync(
      script,
      `import { localSandbox } from ${JSON.stringify(entry)}
const a = localSandbox('lifetime-a-${process.pid}')
await a.exec('true')
await a.destroy()
console.log('destroyed')
const b = localSandbox('lifetime-b-${process.pid}')
await b.exec('true')
await b.exposePort(8123, { hostname: 'example.com' })
console.log(b.root)
`,
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    rmSync(script)
    const [destroyed, root] = run.stdout.split('\n')
    expect({ status: run.status, destroyed }).toEqual({ status: 0, destroyed: 'destroyed' })
    const jails = hostProcesses(findTool('bwrap')!).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`\0${root}\0`),
    )
    expect(jails).toEqual([])
    rmSync(root!, { recursive: true })
  })
})

describe('SSE', () => {
  const streamOf = (...chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk))
        controller.close()
      },
    })
  const decode = async (stream: ReadableStream<Uint8Array>) => {
    const events: unknown[] = []
    for await (const event of parseSSEStream(stream)) events.push(event)
    return events
  }

  it('encodes one data line per event and decodes it back', async () => {
    const event = { type: 'stdout', data: 'a\nb', timestamp: 't' }
    expect(new TextDecoder().decode(encodeSSE(event))).toBe(`data: ${JSON.stringify(event)}\n\n`)
    expect(await decode(streamOf(new TextDecoder().decode(encodeSSE(event))))).toEqual([event])
  })

  it('decodes frames split anywhere, CRLF, comments, multi-line data, and skips non-JSON', async () => {
    const events = await decode(
      streamOf(
        'data: {"a"',
        ':1}\n',
        '\n: comment\n\nevent: x\r\ndata: {"b":\r\ndata: 2}\r\n\r\n',
        'data: nope\n\n',
        'data: {"c":3}',
      ),
    )
    expect(events).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }])
  })

  it('stops with an error when aborted', async () => {
    const controller = new AbortController()
    const stream = new ReadableStream<Uint8Array>({ start() {} })
    const pending = (async () => {
      for await (const _ of parseSSEStream(stream, controller.signal)) return 'an event'
      return 'the end'
    })().catch((e: Error) => e.message)
    controller.abort()
    expect(await pending).toMatch(/abort/i)
  })
})

describe.skipIf(!hasBwrap)('containment (bwrap)', () => {
  it('cannot write outside /workspace, /tmp and /root', async () => {
    const sb = sandbox()
    const outside = mkdtempSync(join(tmpdir(), 'sat-outside-'))
    const result = await sb.exec(
      `echo x > /usr/sat-x; echo x > /etc/sat-x; echo x > ${outside}/f; ls ${join(process.cwd(), 'package.json')}`,
    )
    expect(result.stderr).toMatch(/\/usr\/sat-x: Read-only file system/)
    expect(result.stderr).toMatch(/\/etc\/sat-x: Read-only file system/)
    expect(result.stderr).toMatch(new RegExp(`${outside}/f: No such file or directory`))
    expect(result.stderr).toMatch(/package.json': No such file or directory/)
    expect(existsSync('/usr/sat-x') || existsSync(`${outside}/f`)).toBe(false)
    expect(readdirSync(outside)).toEqual([])
    rmSync(outside, { recursive: true })
  })

  it('shows the sandbox paths to commands: /workspace, /tmp and HOME=/root', async () => {
    const sb = sandbox()
    await sb.mkdir('/workspace/src')
    expect((await sb.exec('pwd')).stdout).toBe('/workspace\n')
    expect((await sb.exec('pwd', { cwd: '/workspace/src' })).stdout).toBe('/workspace/src\n')
    await sb.exec('echo t > /tmp/t.txt; echo "$HOME" > ~/h.txt')
    expect((await sb.readFile('/tmp/t.txt')).content).toBe('t\n')
    expect((await sb.readFile('/root/h.txt')).content).toBe('/root\n')
    await sb.writeFile('/tmp/from-api.txt', 'api')
    expect((await sb.exec('cat /tmp/from-api.txt')).stdout).toBe('api')
  })

  it('has no capabilities and cannot read root-only host files of /etc', async () => {
    const sb = sandbox()
    const result = await sb.exec(
      'grep CapEff /proc/self/status; cat /etc/shadow | wc -c; ls -A /etc/ssl/private | wc -l; mount -o remount,rw /usr',
    )
    expect(result.stdout).toBe('CapEff:\t0000000000000000\n0\n0\n')
    expect(result.exitCode).not.toBe(0)
    const denied = ['FILE_NOT_FOUND', 'PERMISSION_DENIED']
    expect(denied).toContain(await sb.readFile('/etc/shadow').catch((e: { code: string }) => e.code))
    expect(denied).toContain(await sb.listFiles('/etc/ssl/private').catch((e: { code: string }) => e.code))
  })

  it('does not let a symlink made inside lead the file API to host files', async () => {
    const sb = sandbox()
    const secret = join(tmpdir(), `sat-secret-${process.pid}`)
    writeFileSync(secret, 'host secret')
    await sb.exec(`ln -s ${secret} link; ln -s /workspace/real.txt ok`)
    await sb.writeFile('real.txt', 'inside')
    expect(await sb.readFile('link').catch((e: { code: string }) => e.code)).toBe('FILE_NOT_FOUND')
    expect((await sb.readFile('ok')).content).toBe('inside')
    rmSync(secret)
  })

  it('cannot reach the network: not the host loopback, not the internet; allowNetwork can', async () => {
    let connections = 0
    const server = createServer((socket) => {
      connections++
      socket.end('hi\n')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && head -n1 <&3`
    const closed = await sandbox().exec(`${probe}; exec 4<>/dev/tcp/1.1.1.1/53 && echo reached`, {
      timeout: 10_000,
    })
    expect(closed.exitCode).not.toBe(124)
    expect(closed.stdout).toBe('')
    expect(closed.stderr).toMatch(/Connection refused/)
    expect(closed.stderr).toMatch(/Network is unreachable/)
    expect(connections).toBe(0)
    const open = await sandbox({ allowNetwork: true }).exec(probe, { timeout: 10_000 })
    expect(open.stdout).toBe('hi\n')
    expect(connections).toBe(1)
    server.close()
  })

  it('contains a fork bomb with a process limit', async () => {
    const sb = sandbox({ limits: { processes: 64 } })
    const count = await sb.exec(
      `python3 -c "
import os, time
n = 0
try:
    while n < 500:
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        n += 1
except OSError:
    pass
print(n)"`,
      { timeout: 20_000 },
    )
    expect(Number(count.stdout)).toBeGreaterThan(10)
    expect(Number(count.stdout)).toBeLessThan(64)
    const bomb = await sb.exec(':(){ :|:& };:', { timeout: 2_000 })
    expect(bomb.exitCode).toBe(124)
    expect((await sb.exec('echo still fine')).stdout).toBe('still fine\n')
  })

  it('stops a memory hog with a memory limit', async () => {
    const sb = sandbox({ limits: { memory: 256 * 1024 * 1024 } })
    const hog = await sb.exec(`python3 -c "x = b'x' * (1 << 30); print(len(x))"`, { timeout: 30_000 })
    expect(hog.exitCode).not.toBe(0)
    expect(hog.stdout).toBe('')
    expect((await sb.exec(`python3 -c "x = b'x' * (1 << 24); print(len(x))"`)).stdout).toBe('16777216\n')
  })

  it('stops a busy loop at its CPU-seconds limit', async () => {
    const result = await sandbox({ limits: { cpuSeconds: 1 } }).exec('while :; do :; done', {
      timeout: 20_000,
    })
    expect(result.exitCode).toBe(128 + 24)
  })

  it('shares one pid namespace among its commands; kill -9 -1 inside does not take it down', async () => {
    const sb = sandbox()
    await sb.startProcess('sleep 300', { processId: 'long' })
    expect((await sb.exec('ps -eo comm')).stdout).toContain('sleep')
    expect((await sb.exec('kill -9 -1')).exitCode).toBe(0)
    await vi.waitFor(async () => expect((await sb.getProcess('long'))?.status).toBe('killed'))
    expect((await sb.exec('echo back; ps -eo stat= | grep -c Z')).stdout).toBe('back\n0\n')
  })

  it('starts a new jail when the old one was killed from outside', async () => {
    const sb = sandbox()
    await sb.exec('true')
    const [bwrap] = hostProcesses(findTool('bwrap')!).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`\0${sb.root}\0`),
    )
    process.kill(bwrap!, 'SIGKILL')
    await waitFor(() => !existsSync(`/proc/${bwrap}`), 'the jail to die')
    expect((await sb.exec('echo again')).stdout).toBe('again\n')
  })
})
