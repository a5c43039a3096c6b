/**
 * R1 — path escapes. Every hostile path of test/fixtures/hostile-paths.ts, plus symbolic links made
 * inside the sandbox that lead out of it, against every file tool (read_file, write_file, edit_file,
 * list_files, apply_patch: add, update, delete, move from and move to) through every adapter — and
 * through the OpenAI adapter's native `SandboxEditor`. Every call must be refused with the reason,
 * and nothing may change: not the workspace, not the sandbox outside it (/tmp, /root), not the host
 * folder around the workspace (a canary file and its directory listing).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SandboxEditor } from '../../adapters/openai/index.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession } from '../../src/session.js'
import { hostilePathList } from '../fixtures/hostile-paths.js'
import type { ModelView } from '../tools/suite.js'
import { diffSnapshots, hasBwrap, NO_BWRAP_REASON, snapshot } from './host.js'
import { adapterNames, invokerFor } from './invokers.js'

const SECRET = 'secret\n'

/** Links made inside the sandbox, and paths through them; each must be refused as a symbolic link. */
function symlinkSetup(hostCanary: string): { script: string; paths: string[] } {
  const links: [string, string][] = [
    ['link-file', '/tmp/outside/secret.txt'],
    ['link-dir', '/tmp/outside'],
    ['link-etc', '/etc'],
    ['link-root', '/'],
    ['link-up', '..'],
    ['sub/link-rel', '../../tmp/outside'],
    ['chain', 'link-dir'],
    ['dangling', '/tmp/outside/created-through-dangling.txt'],
    ['link-proc', '/proc/self/root'],
    ['link-host', hostCanary],
    ['link-home', '/root'],
  ]
  const script = [
    'mkdir -p /tmp/outside sub /root/keep',
    `printf '${SECRET.replace('\n', '\\n')}' > /tmp/outside/secret.txt`,
    "printf 'keep\\n' > /root/keep/file.txt",
    ...links.map(([at, target]) => `ln -s '${target}' '${at}'`),
  ].join(' && ')
  const paths = [
    'link-file',
    'link-dir',
    'link-dir/secret.txt',
    'link-dir/new.txt',
    'link-etc/passwd',
    'link-etc/sat-new',
    'link-root/tmp/outside/secret.txt',
    'link-up/x',
    'sub/link-rel/secret.txt',
    'chain/secret.txt',
    'chain/new.txt',
    'dangling',
    'link-proc/etc/hostname',
    'link-host',
    'link-home/keep/file.txt',
    '/workspace/link-dir/secret.txt',
    './link-file',
  ]
  return { script, paths }
}

type Call = { tool: string; input: unknown }

/** Every file-tool call a hostile path can be put in. */
function callsFor(path: string): Call[] {
  const patch = (...lines: string[]) => ({ patch: ['*** Begin Patch', ...lines, '*** End Patch'].join('\n') })
  return [
    { tool: 'read_file', input: { path } },
    { tool: 'write_file', input: { path, content: 'PWNED\n' } },
    { tool: 'edit_file', input: { path, old_text: 'secret', new_text: 'PWNED' } },
    { tool: 'list_files', input: { path } },
    { tool: 'apply_patch', input: patch(`*** Add File: ${path}`, '+PWNED') },
    { tool: 'apply_patch', input: patch(`*** Update File: ${path}`, '@@', '-secret', '+PWNED') },
    { tool: 'apply_patch', input: patch(`*** Delete File: ${path}`) },
    {
      tool: 'apply_patch',
      input: patch('*** Update File: inside.txt', `*** Move to: ${path}`, '@@', '-a', '+PWNED'),
    },
    {
      tool: 'apply_patch',
      input: patch(`*** Update File: ${path}`, '*** Move to: moved.txt', '@@', '-secret', '+PWNED'),
    },
  ]
}

/** A path that cannot be written on one line of a patch header: the patch itself is refused. */
const unpatchable = (path: string) => /[\n\r]/.test(path) || path.trim() === '' || path !== path.trim()

/** Whether a refusal says why: the path refusal with its reason, or (see below) the input's problem. */
function explains(text: string, path: string, word: string, inPatch: boolean): boolean {
  if (text.includes('Refused path') && text.includes(word)) return true
  // '' is refused by the schema ("path must not be empty"), or read by the patch grammar as no path
  if (path === '') return /must not be empty|must be followed by a file path|has no hunk/.test(text)
  // a path that cannot be written on a patch header line makes the patch malformed: refused with the line
  if (inPatch && unpatchable(path)) return /line \d+/.test(text)
  return false
}

describe.skipIf(!hasBwrap)(`R1 path escapes (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`, () => {
  let parent: string
  let canary: string

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'sat-r1-'))
    canary = join(parent, 'canary.txt')
    writeFileSync(canary, 'canary\n')
    mkdirSync(join(parent, 'workspace2'))
    writeFileSync(join(parent, 'workspace2', 'sibling.txt'), 'sibling\n')
  })
  afterAll(() => rmSync(parent, { recursive: true, force: true }))

  // the host folder around the workspaces: only these (written by the sandboxes) may change
  const workspaces = adapterNames.map((a) => `ws-${a}`)
  for (const adapter of adapterNames) {
    // the adapters run side by side (each on its own sandbox): the calls mostly wait on the sandbox
    it.concurrent(`${adapter}: refuses every hostile path in every file tool, saying why, and changes nothing`, async () => {
      const root = join(parent, `ws-${adapter}`)
      const session = createSession({ sandbox: () => localSandbox(`r1-${adapter}-${process.pid}`, { root }) })
      /** The sandbox outside the workspace (its writable /tmp and /root), as the sandbox sees it. */
      const outside = async () =>
        (await session.execRaw("find /tmp /root -printf '%p %y %s %m %l\\n' | sort")).stdout
      try {
        const setup = symlinkSetup(canary)
        const made = await session.execRaw(setup.script)
        expect(made.stderr).toBe('')
        await session.writeFile('inside.txt', 'a\n')
        const paths = [...hostilePathList, ...setup.paths.map((path) => ({ path, word: 'symbolic link' }))]
        expect(paths.length).toBeGreaterThanOrEqual(100)
        const outsideBefore = await outside()
        const hostBefore = snapshot(parent, workspaces)
        const workspaceBefore = snapshot(root)

        const invoke = invokerFor(adapter, session)
        const accepted: string[] = []
        const unexplained: string[] = []
        let calls = 0
        for (const { path, word } of paths) {
          for (const { tool, input } of callsFor(path)) {
            const view: ModelView = await invoke(tool, input)
            calls++
            const label = `${tool} ${JSON.stringify(input).slice(0, 160)} → ${view.text.slice(0, 300)}`
            if (!view.error) accepted.push(label)
            else if (!explains(view.text, path, word, tool === 'apply_patch')) unexplained.push(label)
          }
        }
        if (adapter === 'openai') {
          // the native applyPatchTool's Editor: create, update, delete, and moveTo from and to
          const editor = new SandboxEditor(session)
          for (const { path, word } of paths) {
            const results = [
              await editor.createFile({ type: 'create_file', path, diff: '+PWNED\n' }),
              await editor.updateFile({ type: 'update_file', path, diff: '@@\n-secret\n+PWNED\n' }),
              await editor.deleteFile({ type: 'delete_file', path }),
              await editor.updateFile({ type: 'update_file', path: 'inside.txt', diff: '', moveTo: path }),
              await editor.updateFile({ type: 'update_file', path, diff: '', moveTo: 'moved.txt' }),
            ]
            calls += results.length
            for (const [k, result] of results.entries()) {
              const label = `SandboxEditor ${JSON.stringify(path)} op ${k} → ${result.output}`
              if (result.status !== 'failed') accepted.push(label)
              else if (!explains(result.output ?? '', path, word, true)) unexplained.push(label)
            }
          }
        }
        expect(accepted, accepted.join('\n')).toEqual([])
        expect(unexplained, unexplained.join('\n')).toEqual([])
        expect(calls).toBeGreaterThanOrEqual(paths.length * (adapter === 'openai' ? 14 : 9))

        // zero escapes: nothing changed in the workspace, in the sandbox outside it, on the host around it
        expect(diffSnapshots(workspaceBefore, snapshot(root))).toEqual([])
        expect(await outside()).toBe(outsideBefore)
        expect((await session.execRaw('cat /tmp/outside/secret.txt')).stdout).toBe(SECRET)
        expect(diffSnapshots(hostBefore, snapshot(parent, workspaces))).toEqual([])
        expect(readFileSync(canary, 'utf8')).toBe('canary\n')
      } finally {
        await session.destroy()
      }
    })
  }
})
