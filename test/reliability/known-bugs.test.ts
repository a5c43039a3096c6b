/**
 * Bugs found while writing the reliability proofs that none of R1–R8 covers by itself. Each test
 * states the expected behaviour and fails until the bug is fixed (see the report of issue 10).
 * The others are in the proof that found them: hung-commands.test.ts (background children, SIGTERM),
 * lifecycle.test.ts (an aborted command keeps running), bad-patches.test.ts (folders made by a failed
 * patch stay behind), containment.test.ts (fork bomb survivors), faults.test.ts (stalled execStream).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SandboxEditor } from '../../adapters/openai/index.js'
import { type LocalSandbox, localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { hasBwrap } from './host.js'
import { neutralInvoker } from './invokers.js'

const sessions: SandboxSession[] = []
function open(isolation?: 'none'): { session: SandboxSession; sandbox: LocalSandbox } {
  const sandbox = localSandbox(`bug-${crypto.randomUUID().slice(0, 8)}`, isolation ? { isolation } : {})
  const session = createSession({ sandbox: () => sandbox })
  sessions.push(session)
  return { session, sandbox }
}
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()))
})

describe('known bugs', () => {
  it("local backend without bubblewrap (isolation 'none'): the file tools and the shell tool work", async () => {
    // Commands run on the host there and do not see /workspace, but the session's helper commands
    // use it: `cd /workspace` (every shell call), `realpath -m -- /workspace/…`, the atomic
    // `mv -f -- /workspace/.x.tmp /workspace/x` of writeFile, `cd /workspace/… && find` of list_files.
    const { session } = open('none')
    const invoke = neutralInvoker(session)
    const shell = await invoke('shell', { command: 'pwd' })
    expect.soft(shell.text).not.toMatch(/No such file or directory/)
    expect.soft(shell.text).toMatch(/\[cwd: \/workspace\]/)
    const write = await invoke('write_file', { path: 'x.txt', content: 'hi' })
    expect.soft(write.error, write.text).toBe(false)
    const list = await invoke('list_files', {})
    expect.soft(list.error, list.text).toBe(false)
  })

  it.skipIf(!hasBwrap)('edit_file and apply_patch keep the bytes of a file that is not UTF-8', async () => {
    // readTextFile decodes the file as UTF-8 and the edit writes it back: every byte that is not
    // UTF-8 becomes U+FFFD (EF BF BD), in the lines the edit did not touch too.
    const { session, sandbox } = open()
    await session.exec('true')
    const original = Buffer.from('café = 1\nline2\n', 'latin1')
    const file = join(sandbox.root, 'latin1.txt')
    writeFileSync(file, original)
    const invoke = neutralInvoker(session)
    const edited = await invoke('edit_file', { path: 'latin1.txt', old_text: 'line2', new_text: 'LINE2' })
    const after = readFileSync(file)
    // either refused (not a UTF-8 text file) and unchanged, or edited with the other bytes kept
    if (edited.error) expect(after).toEqual(original)
    else expect(after).toEqual(Buffer.from('café = 1\nLINE2\n', 'latin1'))
  })

  it.skipIf(!hasBwrap)('SandboxEditor: one operation changes only its own file', async () => {
    // operationToPatch pastes `path` and `diff` into a V4A patch: a diff line (or a path with a
    // newline) that is a patch header adds operations on other files. A human who approved
    // "update a.txt" sees victim.txt deleted.
    const { session } = open()
    await session.writeFile('a.txt', 'a\n')
    await session.writeFile('victim.txt', 'precious\n')
    const editor = new SandboxEditor(session)
    await editor.updateFile({
      type: 'update_file',
      path: 'a.txt',
      diff: '@@\n-a\n+b\n*** Delete File: victim.txt\n',
    })
    await editor.createFile({ type: 'create_file', path: 'n.txt\n*** Delete File: victim.txt', diff: '' })
    expect(await session.exists('victim.txt')).toBe(true)
  })
})
