/**
 * One tool suite, run through every adapter: each adapter supplies an `invoke` that calls a tool the
 * way its framework would and returns what the model would see.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'

export interface ModelView {
  /** Everything the model reads as text. */
  text: string
  /** How many images reach the model. */
  images: number
  /** Whether the framework marks the result as an error. */
  error: boolean
}

export type Invoke = (name: string, input: unknown) => Promise<ModelView>

export function describeToolSuite(
  adapter: string,
  makeInvoke: (session: SandboxSession) => Invoke | Promise<Invoke>,
) {
  describe(`tools through ${adapter}`, () => {
    let session: SandboxSession
    let invoke: Invoke
    beforeEach(async () => {
      session = createSession({ sandbox: () => localSandbox(`suite-${crypto.randomUUID().slice(0, 8)}`) })
      invoke = await makeInvoke(session)
    })
    afterEach(() => session.destroy())

    it('shell: output, exit code, persistent cwd', async () => {
      const ok = await invoke('shell', { command: 'mkdir -p app && cd app && echo hello' })
      expect(ok.error).toBe(false)
      expect(ok.text).toContain('hello')
      expect(ok.text).toContain('[exit code: 0]')
      expect((await invoke('shell', { command: 'pwd' })).text).toContain('/workspace/app')
      const failed = await invoke('shell', { command: 'echo oops >&2; exit 3' })
      expect(failed.text).toContain('oops')
      expect(failed.text).toContain('[exit code: 3]')
    })

    it('shell: huge output is capped and keeps the end and the error line', async () => {
      const r = await invoke('shell', {
        command: 'seq 1 100000; echo "error: the real problem" >&2; seq 1 100000',
      })
      expect(new TextEncoder().encode(r.text).length).toBeLessThanOrEqual(16 * 1024 + 2048)
      expect(r.text).toContain('100000')
      expect(r.text).toContain('error: the real problem')
      expect(r.text).toMatch(/omitted/)
      expect(r.text).toMatch(/read_file/)
    })

    it('shell: timeout is reported as such', async () => {
      const r = await invoke('shell', { command: 'echo before; sleep 20', timeout_ms: 500 })
      expect(r.text).toContain('before')
      expect(r.text).toMatch(/timed out/)
    })

    it('write_file, read_file with line numbers and paging', async () => {
      const content = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n')
      const w = await invoke('write_file', { path: 'docs/notes.txt', content })
      expect(w.text).toMatch(/Created docs\/notes.txt/)
      const r = await invoke('read_file', { path: 'docs/notes.txt', offset: 10, limit: 5 })
      expect(r.text).toContain('    10\tline 10')
      expect(r.text).toContain('    14\tline 14')
      expect(r.text).not.toContain('line 15')
      expect(r.text).toMatch(/offset=15/)
    })

    it('read_file: a missing file is a clear error', async () => {
      const r = await invoke('read_file', { path: 'nope.txt' })
      expect(r.error).toBe(true)
      expect(r.text).toMatch(/not found/i)
      expect(r.text).toMatch(/list_files/)
    })

    it('edit_file: replaces once; an ambiguous match fails and changes nothing', async () => {
      await invoke('write_file', { path: 'a.py', content: 'x = 1\ny = 1\n' })
      const ambiguous = await invoke('edit_file', { path: 'a.py', old_text: '= 1', new_text: '= 2' })
      expect(ambiguous.error).toBe(true)
      expect(ambiguous.text).toMatch(/2 (matches|times|occurrences)|lines? 1.*2|replace_all/)
      expect((await session.readFile('a.py')).content).toBe('x = 1\ny = 1\n')
      const ok = await invoke('edit_file', { path: 'a.py', old_text: 'y = 1', new_text: 'y = 2' })
      expect(ok.error).toBe(false)
      expect((await session.readFile('a.py')).content).toBe('x = 1\ny = 2\n')
    })

    it('apply_patch: multi-file patch; a bad patch changes nothing', async () => {
      await invoke('write_file', { path: 'src/main.py', content: 'print("hi")\n' })
      const patch = [
        '*** Begin Patch',
        '*** Add File: src/util.py',
        '+def add(a, b):',
        '+    return a + b',
        '*** Update File: src/main.py',
        '@@',
        '-print("hi")',
        '+print("hello")',
        '*** End Patch',
      ].join('\n')
      const ok = await invoke('apply_patch', { patch })
      expect(ok.error).toBe(false)
      expect((await session.readFile('src/main.py')).content).toBe('print("hello")\n')
      expect((await session.readFile('src/util.py')).content).toContain('return a + b')
      const bad = [
        '*** Begin Patch',
        '*** Add File: src/new.py',
        '+x = 1',
        '*** Update File: src/main.py',
        '@@',
        '-print("not there")',
        '+print("x")',
        '*** End Patch',
      ].join('\n')
      const failed = await invoke('apply_patch', { patch: bad })
      expect(failed.error).toBe(true)
      expect(failed.text).toMatch(/src\/main.py/)
      expect(await session.exists('src/new.py')).toBe(false)
      expect((await session.readFile('src/main.py')).content).toBe('print("hello")\n')
    })

    it('list_files: depth and glob', async () => {
      await invoke('shell', { command: 'mkdir -p a/b/c && touch a/x.ts a/b/y.ts a/b/c/z.js top.md' })
      const all = await invoke('list_files', {})
      expect(all.text).toContain('a/')
      expect(all.text).toContain('top.md')
      const ts = await invoke('list_files', { pattern: '**/*.ts' })
      expect(ts.text).toContain('a/b/y.ts')
      expect(ts.text).not.toContain('z.js')
    })

    it('run_code: persistent python, errors with traceback, charts as images', async () => {
      await invoke('run_code', { code: 'x = 20' })
      expect((await invoke('run_code', { code: 'x + 22' })).text).toContain('42')
      const err = await invoke('run_code', { code: '1/0' })
      expect(err.text).toContain('ZeroDivisionError')
      const chart = await invoke('run_code', {
        code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 1])\nplt.show()',
      })
      expect(chart.images).toBeGreaterThanOrEqual(1)
      const js = await invoke('run_code', { code: 'const y = 2; y * 21', language: 'javascript' })
      expect(js.text).toContain('42')
    })

    it('processes and ports: start a server, reach it, read its output, stop it', async () => {
      const started = await invoke('start_process', {
        command: 'python3 -u -m http.server 8123 --bind 0.0.0.0',
        name: 'web',
      })
      expect(started.error).toBe(false)
      expect(started.text).toContain('web')
      const exposed = await invoke('expose_port', { port: 8123 })
      const url = /https?:\/\/\S+/.exec(exposed.text)?.[0]
      expect(url).toBeDefined()
      let status = 0
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await fetch(url!).then(
          (r) => r.status,
          () => 0,
        )
        if (status !== 200) await new Promise((r) => setTimeout(r, 100))
      }
      expect(status).toBe(200)
      const out = await invoke('process_output', { id: 'web' })
      expect(out.text).toMatch(/running/)
      expect(out.text).toMatch(/GET \//)
      const stopped = await invoke('stop_process', { id: 'web' })
      expect(stopped.text).toMatch(/Stopped/)
      const unknown = await invoke('process_output', { id: 'nope' })
      expect(unknown.error).toBe(true)
      expect(unknown.text).toMatch(/web/)
    })

    it('refuses paths outside the workspace, saying why', async () => {
      for (const path of ['../etc/passwd', '/etc/passwd', 'a/../../x']) {
        const r = await invoke('read_file', { path })
        expect(r.error, path).toBe(true)
        expect(r.text, path).toMatch(/outside|\.\./)
      }
      await invoke('shell', { command: 'ln -s /etc etc-link' })
      const viaLink = await invoke('write_file', { path: 'etc-link/evil', content: 'x' })
      expect(viaLink.error).toBe(true)
      expect(viaLink.text).toMatch(/symbolic link/)
    })

    it('invalid input names the field', async () => {
      const r = await invoke('shell', { command: 42 })
      expect(r.error).toBe(true)
      expect(r.text).toMatch(/command/)
      const missing = await invoke('write_file', { path: 'x.txt' })
      expect(missing.error).toBe(true)
      expect(missing.text).toMatch(/content/)
    })
  })
}
