import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxBackend } from '../src/backend.js'
import { CodeInterpreter, type DriverSpawner } from '../src/local/interpreter.js'
import { describeCodeConformance } from './conformance/code.js'

/** A sandbox as the interpreter sees it: a spawner, the workdir as code sees it, and the folder behind it. */
interface Sandbox {
  spawn: DriverSpawner
  workdir: string
  hostDir: string
}

function plainSandbox(): Sandbox {
  const hostDir = mkdtempSync(join(tmpdir(), 'interpreter-'))
  const spawner: DriverSpawner = (argv, { cwd, env }) =>
    spawn(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, ...env } })
  return { spawn: spawner, workdir: hostDir, hostDir }
}

/** The isolation of environment.md §6: only /usr, /etc, /proc, /dev, a private /tmp and the workspace are visible. */
function bwrapArgs(hostDir: string, cwd: string, env: Record<string, string>, argv: string[]): string[] {
  const mounts =
    '--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64'
  const system = '--ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp'
  return [
    ...`--unshare-all --die-with-parent ${mounts} ${system}`.split(' '),
    ...['--bind', hostDir, '/workspace', '--chdir', cwd, '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin'],
    ...Object.entries(env).flatMap(([key, value]) => ['--setenv', key, value]),
    ...argv,
  ]
}

function bwrapSandbox(): Sandbox {
  const hostDir = mkdtempSync(join(tmpdir(), 'interpreter-bwrap-'))
  const spawner: DriverSpawner = (argv, { cwd, env }) => spawn('bwrap', bwrapArgs(hostDir, cwd, env, argv))
  return { spawn: spawner, workdir: '/workspace', hostDir }
}

const bwrapWorks = spawnSync('bwrap', bwrapArgs(tmpdir(), '/workspace', {}, ['true'])).status === 0

/** The code-context slice of a SandboxBackend, served by a CodeInterpreter (enough for the conformance suite). */
function interpreterBackend(makeSandbox: () => Sandbox): SandboxBackend {
  const sandbox = makeSandbox()
  const interpreter = new CodeInterpreter({ spawn: sandbox.spawn, workdir: sandbox.workdir })
  const backend: Partial<SandboxBackend> = {
    createCodeContext: (options) => interpreter.createContext(options),
    runCode: (code, options) => interpreter.runCode(code, options),
    deleteCodeContext: (id) => interpreter.deleteContext(id),
    destroy: async () => {
      await interpreter.destroy()
      rmSync(sandbox.hostDir, { recursive: true, force: true })
    },
  }
  return backend as SandboxBackend
}

describeCodeConformance('CodeInterpreter, plain processes', () => interpreterBackend(plainSandbox))

function describeInterpreter(name: string, makeSandbox: () => Sandbox) {
  describe(name, () => {
    let sandbox: Sandbox
    let interpreter: CodeInterpreter
    beforeAll(() => {
      sandbox = makeSandbox()
      interpreter = new CodeInterpreter({ spawn: sandbox.spawn, workdir: sandbox.workdir })
    })
    afterAll(async () => {
      await interpreter.destroy()
      rmSync(sandbox.hostDir, { recursive: true, force: true })
    })

    it('interrupts Python on timeout and keeps the context', async () => {
      const context = await interpreter.createContext()
      await interpreter.runCode('kept = "still here"', { context })
      const result = await interpreter.runCode(
        'import time\ndef wait():\n    time.sleep(30)\nprint("waiting")\nwait()',
        {
          context,
          timeout: 500,
        },
      )
      expect(result.error).toMatchObject({ name: 'TimeoutError', message: expect.stringContaining('500 ms') })
      expect(result.error?.traceback.join('\n')).toContain('time.sleep(30)')
      expect(result.logs.stdout).toEqual(['waiting\n'])
      expect((await interpreter.runCode('kept', { context })).results).toEqual([{ text: "'still here'" }])
    })

    it('interrupts busy and waiting JavaScript on timeout and keeps the context', async () => {
      const context = await interpreter.createContext({ language: 'javascript' })
      await interpreter.runCode('let kept = "still here"', { context })
      const busy = await interpreter.runCode('while (true) {}', { context, timeout: 500 })
      expect(busy.error?.name).toBe('TimeoutError')
      const waiting = await interpreter.runCode('await new Promise(() => {})', { context, timeout: 500 })
      expect(waiting.error?.name).toBe('TimeoutError')
      const busyLater = await interpreter.runCode('await null\nfor (;;) {}', { context, timeout: 500 })
      expect(busyLater.error?.name).toBe('TimeoutError')
      expect((await interpreter.runCode('kept', { context })).results).toEqual([{ text: "'still here'" }])
    })

    it('stops a run when its signal aborts, and does not start an aborted one', async () => {
      const context = await interpreter.createContext()
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 300)
      const aborted = await interpreter.runCode('import time\ntime.sleep(30)', {
        context,
        signal: controller.signal,
      })
      expect(aborted.error?.name).toBe('AbortError')
      const notStarted = await interpreter.runCode('ran = True', { context, signal: controller.signal })
      expect(notStarted.error?.name).toBe('AbortError')
      expect((await interpreter.runCode('"ran" in globals()', { context })).results).toEqual([
        { text: 'False' },
      ])
    })

    it('terminates a driver that ignores the interrupt, and then refuses its context', async () => {
      const context = await interpreter.createContext()
      const code =
        'import time\nwhile True:\n    try:\n        time.sleep(30)\n    except KeyboardInterrupt:\n        pass'
      const result = await interpreter.runCode(code, { context, timeout: 300 })
      expect(result.error).toMatchObject({
        name: 'TimeoutError',
        message: expect.stringContaining('terminated'),
      })
      await expect(interpreter.runCode('1', { context })).rejects.toMatchObject({
        code: 'CONTEXT_NOT_FOUND',
        message: expect.stringContaining('did not respond to an interrupt'),
      })
    })

    it('reports a driver that dies, and refuses its context afterwards', async () => {
      const python = await interpreter.createContext()
      const died = await interpreter.runCode('import os\nprint("last words", flush=True)\nos._exit(3)', {
        context: python,
      })
      expect(died.error).toMatchObject({
        name: 'ContextDiedError',
        message: expect.stringContaining('createCodeContext'),
      })
      expect(died.logs.stdout).toEqual(['last words\n'])
      await expect(interpreter.runCode('1', { context: python })).rejects.toMatchObject({
        code: 'CONTEXT_NOT_FOUND',
      })

      const javascript = await interpreter.createContext({ language: 'javascript' })
      const crashed = await interpreter.runCode('process.kill(process.pid, "SIGKILL")', {
        context: javascript,
      })
      expect(crashed.error?.name).toBe('ContextDiedError')
      await expect(interpreter.runCode('1', { context: javascript })).rejects.toMatchObject({
        code: 'CONTEXT_NOT_FOUND',
      })
      await interpreter.deleteContext(javascript.id) // a dead context can still be deleted
    })

    it('replaces a dead default context with a fresh one', async () => {
      await interpreter.runCode('before_crash = 1')
      const died = await interpreter.runCode('import ctypes\nctypes.string_at(0)')
      expect(died.error).toMatchObject({
        name: 'ContextDiedError',
        message: expect.stringContaining('fresh'),
      })
      expect((await interpreter.runCode('before_crash')).error?.name).toBe('NameError')
      expect((await interpreter.runCode('2 + 2')).results).toEqual([{ text: '4' }])
    })

    it('throws CONTEXT_NOT_FOUND for an unknown context', async () => {
      const unknown = {
        id: 'no-such-context',
        language: 'python',
        cwd: '/',
        createdAt: new Date(),
        lastUsed: new Date(),
      }
      await expect(interpreter.runCode('1', { context: unknown })).rejects.toMatchObject({
        code: 'CONTEXT_NOT_FOUND',
      })
      await expect(interpreter.deleteContext('no-such-context')).rejects.toMatchObject({
        code: 'CONTEXT_NOT_FOUND',
      })
    })

    it('runs many cells in sequence, and concurrent runs one at a time', async () => {
      const context = await interpreter.createContext()
      await interpreter.runCode('n = 0', { context })
      for (let i = 1; i <= 200; i++) {
        const result = await interpreter.runCode('n += 1\nn', { context })
        expect(result.results).toEqual([{ text: String(i) }])
      }
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => interpreter.runCode(`print(${i})\nn += 1\nn`, { context })),
      )
      concurrent.forEach((result, i) => {
        expect(result.logs.stdout).toEqual([`${i}\n`])
        expect(result.results).toEqual([{ text: String(201 + i) }])
      })
    })

    it("keeps the protocol private from the user's input and output", async () => {
      const python = await interpreter.createContext()
      const result = await interpreter.runCode(
        [
          'import os, subprocess, sys',
          'print(\'{"id": 2, "results": []}\')',
          'sys.stdout.write("no newline")',
          'os.system("echo from a subprocess; echo to stderr >&2")',
          'try:\n    input()\nexcept EOFError:\n    print("stdin is empty")',
          'subprocess.run(["cat"]).returncode',
        ].join('\n'),
        { context: python },
      )
      expect(result.error).toBeUndefined()
      expect(result.logs.stdout.join('')).toBe(
        '{"id": 2, "results": []}\nno newlinefrom a subprocess\nstdin is empty\n',
      )
      expect(result.logs.stderr.join('')).toBe('to stderr\n')
      expect(result.results).toEqual([{ text: '0' }])

      const javascript = await interpreter.createContext({ language: 'javascript' })
      const js = await interpreter.runCode(
        'process.stdout.write("partial ")\nconsole.log("{\\"id\\": 2}")\nlet chunks = []\nfor await (const c of process.stdin) chunks.push(c)\nchunks.length',
        { context: javascript },
      )
      expect(js.error).toBeUndefined()
      expect(js.logs.stdout.join('')).toBe('partial {"id": 2}\n')
      expect(js.results).toEqual([{ text: '0' }])
    })

    it('applies envVars of the context and of a run, and the cwd', async () => {
      mkdirSync(join(sandbox.hostDir, 'sub'), { recursive: true })
      const cwd = `${sandbox.workdir}/sub`
      const python = await interpreter.createContext({
        cwd,
        envVars: { CONTEXT_VAR: 'context', UNSET: undefined },
      })
      expect(python.cwd).toBe(cwd)
      const run = await interpreter.runCode(
        'import os\nprint(os.getcwd(), os.environ["CONTEXT_VAR"], os.environ["RUN_VAR"], "UNSET" in os.environ)\nopen("written.txt", "w").write("hi")',
        { context: python, envVars: { RUN_VAR: 'run' } },
      )
      expect(run.logs.stdout).toEqual([`${cwd} context run False\n`])
      expect(readFileSync(join(sandbox.hostDir, 'sub', 'written.txt'), 'utf8')).toBe('hi')
      expect((await interpreter.runCode('"RUN_VAR" in os.environ', { context: python })).results).toEqual([
        { text: 'False' },
      ])

      const javascript = await interpreter.createContext({
        language: 'javascript',
        cwd,
        envVars: { CONTEXT_VAR: 'ctx' },
      })
      const js = await interpreter.runCode('[process.cwd(), process.env.CONTEXT_VAR, process.env.RUN_VAR]', {
        context: javascript,
        envVars: { RUN_VAR: 'run' },
      })
      expect(js.results[0]?.json).toEqual([cwd, 'ctx', 'run'])
      expect((await interpreter.runCode('process.env.RUN_VAR', { context: javascript })).results).toEqual([])
    })

    it('reports an interpreter that cannot start', async () => {
      const broken = new CodeInterpreter({
        spawn: sandbox.spawn,
        workdir: sandbox.workdir,
        python: '/no/such/python3',
      })
      await expect(broken.createContext()).rejects.toMatchObject({
        code: 'PYTHON_NOT_AVAILABLE',
        message: expect.stringContaining('/no/such/python3'),
      })
      await expect(broken.runCode('1')).rejects.toMatchObject({ code: 'PYTHON_NOT_AVAILABLE' })
      await expect(broken.createContext({ language: 'ruby' as 'python' })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      })
    })

    it('ends every driver on destroy, and starts afresh afterwards', async () => {
      const children: ChildProcessWithoutNullStreams[] = []
      const own = new CodeInterpreter({
        spawn: (argv, opts) => {
          const child = sandbox.spawn(argv, opts)
          children.push(child)
          return child
        },
        workdir: sandbox.workdir,
      })
      await own.runCode('x = 1')
      await own.runCode('1', { language: 'javascript' })
      const starting = expect(own.createContext()).rejects.toMatchObject({
        code: 'INTERPRETER_NOT_READY',
        message: expect.stringContaining('destroy'),
      })
      await own.destroy()
      expect(children).toHaveLength(3)
      for (const child of children) expect(child.exitCode !== null || child.signalCode !== null).toBe(true)
      await starting
      expect((await own.runCode('x')).error?.name).toBe('NameError')
      await own.destroy()
    })
  })
}

describeInterpreter('CodeInterpreter, plain processes', plainSandbox)
describe.skipIf(!bwrapWorks)('CodeInterpreter under bubblewrap (needs bwrap and user namespaces)', () => {
  describeCodeConformance('CodeInterpreter, bubblewrap', () => interpreterBackend(bwrapSandbox))
  describeInterpreter('CodeInterpreter, bubblewrap', bwrapSandbox)

  it('runs the drivers isolated: only the workspace and system folders are visible', async () => {
    const sandbox = bwrapSandbox()
    const interpreter = new CodeInterpreter({ spawn: sandbox.spawn, workdir: sandbox.workdir })
    try {
      const python = await interpreter.runCode(
        'import os\nopen("from-python.txt", "w").write("ok")\n[os.getcwd(), sorted(set(os.listdir("/")) & {"home", "root", "work", "workspace"})]',
      )
      expect(python.results[0]?.json).toEqual(['/workspace', ['workspace']])
      expect(readFileSync(join(sandbox.hostDir, 'from-python.txt'), 'utf8')).toBe('ok')
      const js = await interpreter.runCode('require("node:fs").existsSync("/root")', {
        language: 'javascript',
      })
      expect(js.results).toEqual([{ text: 'false' }])
    } finally {
      await interpreter.destroy()
      rmSync(sandbox.hostDir, { recursive: true, force: true })
    }
  })

  it("supports TypeScript only where the sandbox's Node.js can strip types", async () => {
    const sandbox = bwrapSandbox()
    const interpreter = new CodeInterpreter({
      spawn: sandbox.spawn,
      workdir: sandbox.workdir,
      node: '/usr/bin/node',
    })
    const probe = spawnSync('/usr/bin/node', ['-p', 'typeof require("node:module").stripTypeScriptTypes'])
    try {
      if (probe.stdout.toString().trim() === 'function') {
        const context = await interpreter.createContext({ language: 'typescript' })
        expect((await interpreter.runCode('const n: number = 1; n', { context })).results).toEqual([
          { text: '1' },
        ])
      } else {
        await expect(interpreter.createContext({ language: 'typescript' })).rejects.toMatchObject({
          code: 'INTERPRETER_NOT_READY',
          message: expect.stringContaining('Node.js 22.13'),
        })
      }
    } finally {
      await interpreter.destroy()
      rmSync(sandbox.hostDir, { recursive: true, force: true })
    }
  })
})

describe('CodeInterpreter results', () => {
  let sandbox: Sandbox
  let interpreter: CodeInterpreter
  beforeAll(() => {
    sandbox = plainSandbox()
    interpreter = new CodeInterpreter({ spawn: sandbox.spawn, workdir: sandbox.workdir })
  })
  afterAll(async () => {
    await interpreter.destroy()
    rmSync(sandbox.hostDir, { recursive: true, force: true })
  })

  it('displays like IPython: display(), _repr_*_ methods, a trailing semicolon, None', async () => {
    const code = [
      'class Note:',
      '    def _repr_markdown_(self):',
      '        return "**bold**"',
      '    def _repr_svg_(self):',
      '        return "<svg></svg>"',
      '    def __repr__(self):',
      '        return "Note()"',
      'display(Note(), [1, 2])',
      'print("between")',
      'Note()',
    ].join('\n')
    const result = await interpreter.runCode(code)
    expect(result.results).toEqual([
      { text: 'Note()', markdown: '**bold**', svg: '<svg></svg>' },
      { text: '[1, 2]', json: [1, 2] },
      { text: 'Note()', markdown: '**bold**', svg: '<svg></svg>' },
    ])
    expect((await interpreter.runCode('Note();')).results).toEqual([])
    expect((await interpreter.runCode('None')).results).toEqual([])
    expect((await interpreter.runCode('float("nan")')).results).toEqual([{ text: 'nan' }])
    expect((await interpreter.runCode('[float("nan")]')).results).toEqual([{ text: '[nan]' }])
  })

  it('supports top-level await in Python', async () => {
    const result = await interpreter.runCode(
      'import asyncio\nawait asyncio.sleep(0.01)\nvalue = await asyncio.sleep(0, "done")\nvalue',
    )
    expect(result.error).toBeUndefined()
    expect(result.results).toEqual([{ text: "'done'" }])
  })

  it('reports a Python syntax error with its line', async () => {
    const result = await interpreter.runCode('x = 1\nif x\n    pass')
    expect(result.error).toMatchObject({ name: 'SyntaxError', lineNumber: 2 })
    expect(result.error?.traceback.join('\n')).toContain('if x')
  })

  it('returns JavaScript values as text, and plain objects and arrays as json too', async () => {
    const run = async (code: string) => (await interpreter.runCode(code, { language: 'javascript' })).results
    expect(await run('class Point { constructor() { this.x = 1 } }\nnew Point()')).toEqual([
      { text: 'Point { x: 1 }' },
    ])
    expect(await run('({ a: 1, nested: { b: [true, null] } })')).toEqual([
      { text: '{ a: 1, nested: { b: [ true, null ] } }', json: { a: 1, nested: { b: [true, null] } } },
    ])
    expect(await run('{ a: 1 }')).toEqual([{ text: '{ a: 1 }', json: { a: 1 } }])
    expect(await run('undefined')).toEqual([])
    expect(await run('null')).toEqual([{ text: 'null' }])
    expect(await run('10n ** 20n')).toEqual([{ text: '100000000000000000000n' }])
    expect(await run('Promise.resolve("awaited")')).toEqual([{ text: "'awaited'" }])
  })

  it('reports JavaScript syntax errors, thrown values and stray errors', async () => {
    const context = await interpreter.createContext({ language: 'javascript' })
    const syntax = await interpreter.runCode('const a = 1\nconst b = ;', { context })
    expect(syntax.error).toMatchObject({ name: 'SyntaxError', lineNumber: 2 })
    const thrown = await interpreter.runCode('throw { reason: "custom" }', { context })
    expect(thrown.error).toMatchObject({ name: 'Error', message: "{ reason: 'custom' }" })
    const stray = await interpreter.runCode(
      'setTimeout(() => { throw new Error("later") }, 0)\nawait new Promise((r) => setTimeout(r, 50))\n"alive"',
      { context },
    )
    expect(stray.results).toEqual([{ text: "'alive'" }])
    expect(stray.logs.stderr.join('')).toContain('Error: later')
  })

  it('strips TypeScript types when the Node.js in the sandbox can', async () => {
    const context = await interpreter.createContext({ language: 'typescript' })
    expect(context.language).toBe('typescript')
    const result = await interpreter.runCode(
      'enum Color { Red, Green }\ninterface P { x: number }\nconst p: P = { x: Color.Green }\np',
      { context },
    )
    expect(result).toMatchObject({ logs: { stdout: [], stderr: [] }, results: [{ json: { x: 1 } }] })
    const invalid = await interpreter.runCode('let broken: = 1', { context })
    expect(invalid.error?.name).toBe('SyntaxError')
    expect(invalid.error?.traceback.join('\n')).not.toContain('[eval]')
  })
})
