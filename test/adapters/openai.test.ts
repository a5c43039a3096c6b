/**
 * The OpenAI Agents SDK adapter, run for real: the SDK's own runner with `ScriptedModel`, the real
 * `OpenAIResponsesModel` / `OpenAIChatCompletionsModel` (an `openai` client) against a fixture on
 * 127.0.0.1, and commands that really run on the local backend. Nothing reaches the internet.
 */
import {
  Agent,
  type AgentInputItem,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
} from '@openai/agents'
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing'
import OpenAI from 'openai'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { operationToPatch, SandboxEditor, SandboxShell, sandboxTools } from '../../adapters/openai/index.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import {
  applyPatchCallItem,
  chat,
  type Fixture,
  functionCallItem,
  inputItem,
  messageItem,
  responses,
  shellCallItem,
  startFixture,
} from '../fixtures/openai-fixture.js'

// a 1×1 PNG
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='

let session: SandboxSession
let fixture: Fixture | undefined

beforeAll(() => {
  setTracingDisabled(true)
})

function newSession(): SandboxSession {
  session = createSession({ sandbox: () => localSandbox(`t-${crypto.randomUUID()}`) })
  return session
}

afterEach(async () => {
  await fixture?.close()
  fixture = undefined
  await session?.destroy()
})

async function read(path: string): Promise<string> {
  return (await session.readFile(path)).content
}

/** The output item for `callId` in a ScriptedModel request's input. */
function outputFor(input: string | AgentInputItem[], callId: string): any {
  const items = Array.isArray(input) ? input : []
  return items.find(
    (item: any) =>
      item.callId === callId &&
      ['function_call_result', 'shell_call_output', 'apply_patch_call_output'].includes(item.type),
  )
}

/** The text a function tool result carries (a string output or its text parts). */
function resultText(item: any): string {
  const output = item?.output
  if (typeof output === 'string') return output
  if (Array.isArray(output)) return output.map((p: any) => p.text ?? '').join('')
  return output?.text ?? JSON.stringify(output)
}

// ------------------------------------------------------------------ SandboxShell

describe('SandboxShell', () => {
  it('runs commands in order with a persistent working directory and reports exit codes', async () => {
    const shell = new SandboxShell(newSession())
    const result = await shell.run({
      commands: [
        'mkdir -p sub/dir && cd sub',
        'pwd; export GREETING=hello',
        'echo "$GREETING from $(basename $PWD)"; echo oops >&2; exit 3',
      ],
    })
    expect(result.output).toHaveLength(3)
    expect(result.output[0]?.outcome).toEqual({ type: 'exit', exitCode: 0 })
    expect(result.output[1]?.stdout).toBe('/workspace/sub\n')
    expect(result.output[2]?.stdout).toBe('hello from sub\n')
    expect(result.output[2]?.stderr).toBe('oops\n')
    expect(result.output[2]?.outcome).toEqual({ type: 'exit', exitCode: 3 })
    expect(result.providerData).toEqual({ cwd: '/workspace/sub' })
    expect(result.maxOutputLength).toBeUndefined()
    // the next action starts where the last one left off
    const next = await shell.run({ commands: ['pwd'] })
    expect(next.output[0]?.stdout).toBe('/workspace/sub\n')
  })

  it('honours maxOutputLength per command and echoes it back', async () => {
    const shell = new SandboxShell(newSession())
    const result = await shell.run({
      commands: ['seq 1 20000', 'for i in $(seq 1 3000); do echo "warn $i" >&2; done; echo short'],
      maxOutputLength: 400,
    })
    expect(result.maxOutputLength).toBe(400)
    for (const entry of result.output) {
      expect(new TextEncoder().encode(entry.stdout + entry.stderr).length).toBeLessThanOrEqual(400)
    }
    const first = result.output[0]!
    expect(first.stdout.startsWith('1\n2\n3\n')).toBe(true)
    expect(first.stdout).toContain('20000')
    expect(first.stdout.length).toBeLessThan(400)
    expect(result.output[1]?.stdout).toBe('short\n')
    expect(result.output[1]?.stderr).toContain('warn 3000')
  })

  it('caps output at the configured limit when the model asks for none', async () => {
    const shell = new SandboxShell(newSession(), { output: { maxBytes: 1000 } })
    const result = await shell.run({ commands: ['seq 1 100000'] })
    const entry = result.output[0]!
    expect(entry.stdout.length + entry.stderr.length).toBeLessThanOrEqual(1000)
    expect(entry.stdout).toContain('100000')
    // the full output was saved in the sandbox and the model is told where
    const saved = /full output is in (\S+)\]/.exec(entry.stderr)?.[1]
    expect(saved).toBeDefined()
    expect(await read(saved!)).toContain('\n54321\n')
  })

  it('reports a timeout and skips the later commands, saying so', async () => {
    const shell = new SandboxShell(newSession())
    const result = await shell.run({ commands: ['echo started; sleep 30', 'touch ran.txt'], timeoutMs: 500 })
    expect(result.output).toHaveLength(1)
    expect(result.output[0]?.outcome).toEqual({ type: 'timeout' })
    expect(result.output[0]?.stdout).toContain('started')
    expect(result.output[0]?.stderr).toMatch(/timed out/)
    expect(result.output[0]?.stderr).toContain('Skipped the 1 later command')
    expect(result.output[0]?.stderr).toContain('touch ran.txt')
    expect(await session.exists('ran.txt')).toBe(false)
  })

  it('puts the real reason for a sandbox failure in stderr', async () => {
    const shell = new SandboxShell(newSession())
    await session.exec('true')
    await session.destroy()
    const result = await shell.run({ commands: ['echo one', 'echo two'] })
    expect(result.output).toHaveLength(1)
    expect(result.output[0]?.outcome).toEqual({ type: 'exit', exitCode: null })
    expect(result.output[0]?.stderr).toContain('This sandbox session has been destroyed.')
    expect(result.output[0]?.stderr).toContain('echo two')
  })
})

// ------------------------------------------------------------------ SandboxEditor

describe('SandboxEditor', () => {
  it('creates a file and refuses to clobber an existing one', async () => {
    const editor = new SandboxEditor(newSession())
    const created = await editor.createFile({
      type: 'create_file',
      path: 'docs/notes.md',
      diff: '+# Notes\n+\n+first\n',
    })
    expect(created).toEqual({ status: 'completed', output: 'Created docs/notes.md' })
    expect(await read('docs/notes.md')).toBe('# Notes\n\nfirst\n')
    const again = await editor.createFile({ type: 'create_file', path: 'docs/notes.md', diff: '+other\n' })
    expect(again.status).toBe('failed')
    expect(again.output).toContain('already exists')
    expect(again.output).toMatch(/Update File|update_file/)
    const notADiff = await editor.createFile({
      type: 'create_file',
      path: 'plain.md',
      diff: 'no plus sign\n',
    })
    expect(notADiff.status).toBe('failed')
    expect(notADiff.output).toMatch(
      /^Could not create plain\.md: line \d+: expected "\+" at the start of every line/,
    )
    expect(await session.exists('plain.md')).toBe(false)
    expect(await read('docs/notes.md')).toBe('# Notes\n\nfirst\n')
  })

  it('updates a file keeping CRLF line endings and the BOM (with the (operation, context) signature)', async () => {
    const editor = new SandboxEditor(newSession())
    await session.writeFile('win.txt', '\uFEFFalpha\r\nbeta\r\ngamma\r\n')
    const result = await editor.updateFile(
      { type: 'update_file', path: 'win.txt', diff: '@@\n alpha\n-beta\n+BETA\n+delta\n gamma\n' },
      { runContext: {} as never },
    )
    expect(result).toEqual({ status: 'completed', output: 'Updated win.txt' })
    expect(await read('win.txt')).toBe('\uFEFFalpha\r\nBETA\r\ndelta\r\ngamma\r\n')
  })

  it('moves a file with moveTo, applying the diff', async () => {
    const editor = new SandboxEditor(newSession())
    await session.writeFile('old/name.py', 'x = 1\ny = 2\n')
    const result = await editor.updateFile({
      type: 'update_file',
      path: 'old/name.py',
      diff: '@@\n x = 1\n-y = 2\n+y = 3\n',
      moveTo: 'new/place.py',
    })
    expect(result).toEqual({
      status: 'completed',
      output: 'Updated old/name.py and moved it to new/place.py',
    })
    expect(await session.exists('old/name.py')).toBe(false)
    expect(await read('new/place.py')).toBe('x = 1\ny = 3\n')
    // a move onto an existing file is refused and changes nothing
    await session.writeFile('taken.py', 'keep\n')
    const refused = await editor.updateFile({
      type: 'update_file',
      path: 'new/place.py',
      diff: '',
      moveTo: 'taken.py',
    })
    expect(refused.status).toBe('failed')
    expect(refused.output).toContain('taken.py already exists')
    expect(await read('taken.py')).toBe('keep\n')
    expect(await read('new/place.py')).toBe('x = 1\ny = 3\n')
  })

  it('fails with what to fix when a hunk does not apply, and changes nothing', async () => {
    const editor = new SandboxEditor(newSession())
    await session.writeFile('app.js', 'const a = 1\nconst b = 2\n')
    const result = await editor.updateFile({
      type: 'update_file',
      path: 'app.js',
      diff: '@@\n-const c = 3\n+const c = 4\n',
    })
    expect(result.status).toBe('failed')
    expect(result.output).toMatch(/^Could not update app\.js: /)
    expect(result.output).toContain('const c = 3')
    expect(result.output).toContain('read_file')
    expect(await read('app.js')).toBe('const a = 1\nconst b = 2\n')
    const missing = await editor.updateFile({ type: 'update_file', path: 'nope.js', diff: '@@\n-a\n+b\n' })
    expect(missing.status).toBe('failed')
    expect(missing.output).toContain('does not exist')
  })

  it('deletes a file, and says so when there is none', async () => {
    const editor = new SandboxEditor(newSession())
    await session.writeFile('gone.txt', 'bye\n')
    expect(await editor.deleteFile({ type: 'delete_file', path: 'gone.txt' })).toEqual({
      status: 'completed',
      output: 'Deleted gone.txt',
    })
    expect(await session.exists('gone.txt')).toBe(false)
    const again = await editor.deleteFile({ type: 'delete_file', path: 'gone.txt' })
    expect(again.status).toBe('failed')
    expect(again.output).toContain('does not exist')
  })

  it('refuses paths outside the workspace', async () => {
    const editor = new SandboxEditor(newSession())
    for (const path of ['../etc/passwd', '/etc/passwd', '../workspace2/evil.txt']) {
      const created = await editor.createFile({ type: 'create_file', path, diff: '+pwned\n' })
      expect(created.status).toBe('failed')
      expect(created.output).toContain('Refused path')
      const deleted = await editor.deleteFile({ type: 'delete_file', path })
      expect(deleted.status).toBe('failed')
      expect(deleted.output).toContain('Refused path')
    }
    await session.writeFile('inside.txt', 'a\n')
    const moved = await editor.updateFile({
      type: 'update_file',
      path: 'inside.txt',
      diff: '',
      moveTo: '/tmp/outside.txt',
    })
    expect(moved.status).toBe('failed')
    expect(moved.output).toContain('Refused path')
    expect(await read('inside.txt')).toBe('a\n')
  })

  it('writes the same bytes as the apply_patch function tool for the same lines', async () => {
    newSession()
    const editor = new SandboxEditor(session)
    const operation = { type: 'create_file' as const, path: 'a.txt', diff: '+one\n+two\n' }
    await editor.createFile(operation)
    const [patchTool] = sandboxTools(session, { include: ['apply_patch'], nativeTools: false })
    const patch = operationToPatch({ ...operation, path: 'b.txt' })
    expect(patch).toBe('*** Begin Patch\n*** Add File: b.txt\n+one\n+two\n*** End Patch\n')
    await (patchTool as any).invoke({}, JSON.stringify({ patch }))
    expect(await read('a.txt')).toBe(await read('b.txt'))
  })
})

// ------------------------------------------------------------------ sandboxTools

describe('sandboxTools', () => {
  it('offers shellTool + applyPatchTool and function tools, honouring include/exclude', () => {
    newSession()
    const tools = sandboxTools(session)
    expect(tools.map((t) => `${t.type}:${t.name}`)).toEqual([
      'shell:shell',
      'function:read_file',
      'function:write_file',
      'function:edit_file',
      'apply_patch:apply_patch',
      'function:list_files',
      'function:run_code',
      'function:start_process',
      'function:process_output',
      'function:stop_process',
      'function:expose_port',
    ])
    const chatTools = sandboxTools(session, {
      nativeTools: false,
      include: ['shell', 'apply_patch', 'read_file'],
    })
    expect(chatTools.map((t) => `${t.type}:${t.name}`)).toEqual([
      'function:shell',
      'function:read_file',
      'function:apply_patch',
    ])
    expect(sandboxTools(session, { exclude: ['shell', 'run_code'] }).map((t) => t.name)).not.toContain(
      'shell',
    )
    expect(() => sandboxTools(session, { include: ['bash' as never] })).toThrow(/unknown tool name "bash"/)
  })

  it('gives strict schemas with optional fields as nullable', () => {
    newSession()
    const readFile = sandboxTools(session, { include: ['read_file'] })[0] as any
    expect(readFile.strict).toBe(true)
    expect(readFile.parameters.additionalProperties).toBe(false)
    expect(readFile.parameters.required).toEqual(['path', 'offset', 'limit'])
    expect(readFile.parameters.properties.offset.anyOf).toContainEqual({ type: 'null' })
  })
})

// ------------------------------------------------------------------ run() with ScriptedModel

describe('run() with ScriptedModel', () => {
  it('runs shell, apply_patch and function tools against the sandbox', async () => {
    newSession()
    const model = new ScriptedModel([
      [
        {
          type: 'shell_call',
          callId: 's1',
          status: 'completed',
          action: { commands: ['mkdir -p src && cd src', 'printf "print(40 + 2)\\n" > main.py && pwd'] },
        },
        {
          type: 'apply_patch_call',
          callId: 'p1',
          status: 'completed',
          operation: { type: 'create_file', path: 'notes.md', diff: '+# Notes\n+todo: ship\n' },
        },
      ],
      [
        {
          type: 'apply_patch_call',
          callId: 'p2',
          status: 'completed',
          operation: {
            type: 'update_file',
            path: 'notes.md',
            diff: '@@\n # Notes\n-todo: ship\n+done: shipped\n',
            moveTo: 'docs/NOTES.md',
          },
        },
        {
          type: 'shell_call',
          callId: 's2',
          status: 'completed',
          action: { commands: ['python3 main.py; ls'] },
        },
      ],
      // the tools of one turn may run concurrently: read what the patch wrote in the next turn
      [
        functionCall('read_file', { path: 'docs/NOTES.md', offset: null, limit: null }, { callId: 'f1' }),
        functionCall('list_files', { path: null, depth: null, pattern: '*.py' }, { callId: 'f2' }),
      ],
      [assistantMessage('done')],
    ])
    const agent = new Agent({ name: 'coder', model, tools: sandboxTools(session) })
    const result = await run(agent, 'set up the project')
    expect(result.finalOutput).toBe('done')
    model.assertComplete()

    const second = model.calls[1]!.request.input
    const s1 = outputFor(second, 's1')
    expect(s1.output[1]).toEqual({
      stdout: '/workspace/src\n',
      stderr: '',
      outcome: { type: 'exit', exitCode: 0 },
    })
    expect(outputFor(second, 'p1')).toMatchObject({ status: 'completed', output: 'Created notes.md' })

    const third = model.calls[2]!.request.input
    expect(outputFor(third, 'p2')).toMatchObject({
      status: 'completed',
      output: 'Updated notes.md and moved it to docs/NOTES.md',
    })
    // the shell started in src/, where the first call left it
    expect(outputFor(third, 's2').output[0].stdout).toBe('42\nmain.py\n')
    const fourth = model.calls[3]!.request.input
    expect(resultText(outputFor(fourth, 'f1'))).toContain('     2\tdone: shipped')
    expect(resultText(outputFor(fourth, 'f2'))).toContain('src/main.py')

    expect(await read('docs/NOTES.md')).toBe('# Notes\ndone: shipped\n')
    expect(await session.exists('notes.md')).toBe(false)
    expect(await read('src/main.py')).toBe('print(40 + 2)\n')
  })

  it('tells the model about bad arguments and escaping paths, naming the field, and the loop goes on', async () => {
    newSession()
    await session.writeFile('real.txt', 'real\n')
    const model = new ScriptedModel([
      [
        functionCall('read_file', { path: 42 }, { callId: 'bad-type' }),
        functionCall('read_file', { offset: 1 }, { callId: 'missing' }),
        functionCall('expose_port', { port: 3000 }, { callId: 'bad-port' }),
        functionCall(
          'read_file',
          { path: '../etc/passwd', offset: null, limit: null },
          { callId: 'escape-rel' },
        ),
        functionCall(
          'write_file',
          { path: '/etc/passwd', content: 'root::0:0::/:/bin/sh' },
          { callId: 'escape-abs' },
        ),
        functionCall('stop_process', { id: 'nope' }, { callId: 'no-process' }),
        functionCall('read_file', '{"path": "real.txt", ', { callId: 'malformed' }),
        {
          type: 'apply_patch_call',
          callId: 'patch-escape',
          status: 'completed',
          operation: { type: 'create_file', path: '../etc/evil', diff: '+x\n' },
        },
      ],
      [functionCall('read_file', { path: 'real.txt', offset: null, limit: null }, { callId: 'good' })],
      [assistantMessage('recovered')],
    ])
    const agent = new Agent({ name: 'coder', model, tools: sandboxTools(session) })
    const result = await run(agent, 'go')
    expect(result.finalOutput).toBe('recovered')
    const input = model.calls[1]!.request.input

    const badType = resultText(outputFor(input, 'bad-type'))
    expect(badType).toMatch(/^read_file failed: Invalid input for read_file:/)
    expect(badType).toMatch(/- path: /)
    expect(resultText(outputFor(input, 'missing'))).toMatch(/- path: /)
    expect(resultText(outputFor(input, 'bad-port'))).toContain('port 3000 is reserved')
    expect(resultText(outputFor(input, 'escape-rel'))).toMatch(
      /^read_file failed: Refused path "\.\.\/etc\/passwd"/,
    )
    expect(resultText(outputFor(input, 'escape-abs'))).toMatch(
      /^write_file failed: Refused path "\/etc\/passwd"/,
    )
    expect(resultText(outputFor(input, 'no-process'))).toContain('No process with id "nope"')
    // malformed JSON never reaches the tool: the SDK answers it with its own (clear) text
    expect(resultText(outputFor(input, 'malformed'))).toContain('Please try again with valid JSON')
    expect(outputFor(input, 'patch-escape')).toMatchObject({ status: 'failed' })
    expect(outputFor(input, 'patch-escape').output).toContain('Refused path')
    // none of it is the SDK's fixed text that hides the reason
    expect(JSON.stringify(input)).not.toContain('An error occurred while running the tool')
    expect(resultText(outputFor(model.calls[2]!.request.input, 'good'))).toContain('real')
  })

  it('returns images as image parts', async () => {
    newSession()
    await session.writeFile('dot.png', PNG, { encoding: 'base64' })
    const model = new ScriptedModel([
      [functionCall('read_file', { path: 'dot.png', offset: null, limit: null }, { callId: 'img' })],
      [assistantMessage('seen')],
    ])
    await run(
      new Agent({ name: 'a', model, tools: sandboxTools(session, { include: ['read_file'] }) }),
      'look',
    )
    const output = outputFor(model.calls[1]!.request.input, 'img').output
    expect(output).toEqual([
      { type: 'input_text', text: expect.stringContaining('Image dot.png (image/png') },
      expect.objectContaining({ type: 'input_image' }),
    ])
    expect(JSON.stringify(output[1])).toContain(PNG)
  })
})

// ------------------------------------------------------------------ approval

describe('approval', () => {
  it('interrupts a function tool call; approve runs it', async () => {
    newSession()
    const model = new ScriptedModel([
      [functionCall('write_file', { path: 'approved.txt', content: 'yes\n' }, { callId: 'w1' })],
      [assistantMessage('written')],
    ])
    const agent = new Agent({ name: 'a', model, tools: sandboxTools(session, { approval: ['write_file'] }) })
    let result = await run(agent, 'write it')
    expect(result.interruptions).toHaveLength(1)
    expect(result.interruptions[0]?.name).toBe('write_file')
    expect(await session.exists('approved.txt')).toBe(false)
    result.state.approve(result.interruptions[0]!)
    result = await run(agent, result.state)
    expect(result.finalOutput).toBe('written')
    expect(await read('approved.txt')).toBe('yes\n')
  })

  it('reject does not run the call, for function, shell and apply_patch tools', async () => {
    newSession()
    const model = new ScriptedModel([
      [
        functionCall('write_file', { path: 'rejected.txt', content: 'no\n' }, { callId: 'w1' }),
        {
          type: 'shell_call',
          callId: 's1',
          status: 'completed',
          action: { commands: ['touch shell-ran.txt'] },
        },
        {
          type: 'apply_patch_call',
          callId: 'p1',
          status: 'completed',
          operation: { type: 'create_file', path: 'patched.txt', diff: '+x\n' },
        },
      ],
      [assistantMessage('ok, not doing it')],
    ])
    const agent = new Agent({ name: 'a', model, tools: sandboxTools(session, { approval: true }) })
    let result = await run(agent, 'try')
    expect(result.interruptions.map((i) => i.name).sort()).toEqual(['apply_patch', 'shell', 'write_file'])
    for (const item of result.interruptions) result.state.reject(item)
    result = await run(agent, result.state)
    expect(result.finalOutput).toBe('ok, not doing it')
    for (const path of ['rejected.txt', 'shell-ran.txt', 'patched.txt'])
      expect(await session.exists(path)).toBe(false)
    const input = model.calls[1]!.request.input
    expect(JSON.stringify(outputFor(input, 's1'))).toContain('not approved')
  })

  it('asks a policy function with the neutral inputs ({ command }, { patch })', async () => {
    newSession()
    const asked: Array<{ name: string; input: any }> = []
    const model = new ScriptedModel([
      [
        {
          type: 'shell_call',
          callId: 's1',
          status: 'completed',
          action: { commands: ['echo safe > safe.txt'] },
        },
        {
          type: 'shell_call',
          callId: 's2',
          status: 'completed',
          action: { commands: ['echo fine', 'rm -rf victim'] },
        },
        {
          type: 'apply_patch_call',
          callId: 'p1',
          status: 'completed',
          operation: { type: 'create_file', path: 'secrets/key', diff: '+k\n' },
        },
        functionCall('read_file', { path: 'victim/keep.txt', offset: null, limit: null }, { callId: 'f1' }),
      ],
      [assistantMessage('done')],
    ])
    await session.writeFile('victim/keep.txt', 'keep\n')
    const tools = sandboxTools(session, {
      approval: (call) => {
        asked.push(call)
        if (call.name === 'shell') return /\brm\b/.test((call.input as { command: string }).command)
        if (call.name === 'apply_patch') return (call.input as { patch: string }).patch.includes('secrets/')
        return false
      },
    })
    const result = await run(new Agent({ name: 'a', model, tools }), 'go')
    expect(result.interruptions.map((i) => i.name).sort()).toEqual(['apply_patch', 'shell'])
    expect(asked).toContainEqual({ name: 'shell', input: { command: 'rm -rf victim' } })
    expect(asked).toContainEqual({
      name: 'apply_patch',
      input: expect.objectContaining({
        patch: '*** Begin Patch\n*** Add File: secrets/key\n+k\n*** End Patch\n',
      }),
    })
    expect(asked).toContainEqual({ name: 'read_file', input: { path: 'victim/keep.txt' } })
    // the calls that need no approval ran; the others wait
    expect(await read('safe.txt')).toBe('safe\n')
    expect(await read('victim/keep.txt')).toBe('keep\n')
    expect(await session.exists('secrets/key')).toBe(false)
  })
})

// ------------------------------------------------------------------ the real OpenAI clients on a fixture

describe('OpenAIResponsesModel on a Responses API fixture', () => {
  it('sends native shell/apply_patch tools and gets capped output, exit codes and images back', async () => {
    newSession()
    await session.writeFile('dot.png', PNG, { encoding: 'base64' })
    fixture = await startFixture({
      '/v1/responses': [
        responses([
          shellCallItem('call_sh1', ['seq 1 20000', 'echo done; exit 4'], {
            max_output_length: 300,
            timeout_ms: 60_000,
          }),
          applyPatchCallItem('call_ap1', { type: 'create_file', path: 'notes.md', diff: '+# Notes\n' }),
          functionCallItem('call_img', 'read_file', { path: 'dot.png', offset: null, limit: null }),
          functionCallItem('call_bad', 'read_file', { path: 7, offset: null, limit: null }),
          functionCallItem('call_esc', 'read_file', { path: '/etc/passwd', offset: null, limit: null }),
        ]),
        responses([
          applyPatchCallItem('call_ap2', {
            type: 'update_file',
            path: 'notes.md',
            diff: '@@\n-# Notes\n+# Notes!\n',
            move_to: 'NOTES.md',
          }),
        ]),
        responses([messageItem('All done')]),
      ],
    })
    const client = new OpenAI({ baseURL: fixture.baseURL, apiKey: 'test-key', maxRetries: 0 })
    const model = new OpenAIResponsesModel(client as never, 'fixture-model')
    const result = await run(new Agent({ name: 'coder', model, tools: sandboxTools(session) }), 'work')
    expect(result.finalOutput).toBe('All done')

    const [first, second, third] = fixture.requests['/v1/responses']!
    expect(first.tools).toContainEqual({ type: 'shell', environment: { type: 'local' } })
    expect(first.tools).toContainEqual({ type: 'apply_patch' })
    const readFileTool = first.tools.find((t: any) => t.name === 'read_file')
    expect(readFileTool).toMatchObject({ type: 'function', strict: true })
    expect(readFileTool.parameters.required).toEqual(['path', 'offset', 'limit'])

    const shellOutput = inputItem(second, 'shell_call_output', 'call_sh1')
    expect(shellOutput.max_output_length).toBe(300)
    const [seq, exit4] = shellOutput.output
    expect(seq.stdout.length + seq.stderr.length).toBeLessThanOrEqual(300)
    expect(seq.stdout).toMatch(/^1\n2\n/)
    expect(seq.stdout).toContain('20000')
    expect(seq.outcome).toEqual({ type: 'exit', exit_code: 0 })
    expect(exit4).toEqual({ stdout: 'done\n', stderr: '', outcome: { type: 'exit', exit_code: 4 } })

    expect(inputItem(second, 'apply_patch_call_output', 'call_ap1')).toMatchObject({
      status: 'completed',
      output: 'Created notes.md',
    })
    const image = inputItem(second, 'function_call_output', 'call_img').output
    expect(image).toContainEqual(expect.objectContaining({ type: 'input_text' }))
    expect(image).toContainEqual(
      expect.objectContaining({ type: 'input_image', image_url: `data:image/png;base64,${PNG}` }),
    )
    expect(inputItem(second, 'function_call_output', 'call_bad').output).toMatch(
      /Invalid input for read_file:\n- path: /,
    )
    expect(inputItem(second, 'function_call_output', 'call_esc').output).toMatch(
      /^read_file failed: Refused path "\/etc\/passwd"/,
    )

    expect(inputItem(third, 'apply_patch_call_output', 'call_ap2')).toMatchObject({
      status: 'completed',
      output: 'Updated notes.md and moved it to NOTES.md',
    })
    expect(await read('NOTES.md')).toBe('# Notes!\n')
    expect(await session.exists('notes.md')).toBe(false)
  })

  // needs matplotlib in the sandbox's Python (/usr/bin/python3; .ci/run installs python3-matplotlib)
  it('returns a matplotlib chart from run_code as an input_image', async () => {
    newSession()
    fixture = await startFixture({
      '/v1/responses': [
        responses([
          functionCallItem('call_chart', 'run_code', {
            code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()',
            language: null,
          }),
        ]),
        responses([messageItem('Chart drawn')]),
      ],
    })
    const client = new OpenAI({ baseURL: fixture.baseURL, apiKey: 'test-key', maxRetries: 0 })
    const model = new OpenAIResponsesModel(client as never, 'fixture-model')
    const result = await run(new Agent({ name: 'analyst', model, tools: sandboxTools(session) }), 'plot')
    expect(result.finalOutput).toBe('Chart drawn')
    const output = inputItem(
      fixture.requests['/v1/responses']![1],
      'function_call_output',
      'call_chart',
    ).output
    expect(output[0]).toMatchObject({ type: 'input_text' })
    expect(output).toContainEqual(
      expect.objectContaining({
        type: 'input_image',
        image_url: expect.stringMatching(/^data:image\/png;base64,iVBOR/),
      }),
    )
  })
})

describe('OpenAIChatCompletionsModel with nativeTools: false', () => {
  it('runs shell and apply_patch as function tools', async () => {
    newSession()
    fixture = await startFixture({
      '/v1/chat/completions': [
        chat({
          toolCalls: [
            {
              id: 'call_sh',
              name: 'shell',
              args: { command: 'mkdir -p src && cd src && echo hi > a.txt && pwd', timeout_ms: null },
            },
            {
              id: 'call_ap',
              name: 'apply_patch',
              args: { patch: '*** Begin Patch\n*** Add File: src/b.txt\n+bee\n*** End Patch' },
            },
          ],
        }),
        chat({
          toolCalls: [
            {
              id: 'call_sh2',
              name: 'shell',
              args: { command: 'pwd; cat a.txt b.txt; exit 5', timeout_ms: 10_000 },
            },
            { id: 'call_bad', name: 'shell', args: { command: '', timeout_ms: null } },
          ],
        }),
        chat({ text: 'ok' }),
      ],
    })
    const client = new OpenAI({ baseURL: fixture.baseURL, apiKey: 'test-key', maxRetries: 0 })
    const model = new OpenAIChatCompletionsModel(client as never, 'fixture-model')
    const tools = sandboxTools(session, { nativeTools: false })
    const result = await run(new Agent({ name: 'coder', model, tools }), 'work')
    expect(result.finalOutput).toBe('ok')

    const [first, second, third] = fixture.requests['/v1/chat/completions']!
    expect(first.tools.every((t: any) => t.type === 'function' && t.function.strict === true)).toBe(true)
    expect(first.tools.map((t: any) => t.function.name)).toEqual(
      expect.arrayContaining(['shell', 'apply_patch', 'run_code']),
    )
    const toolMessage = (body: any, id: string) =>
      body.messages.find((m: any) => m.role === 'tool' && m.tool_call_id === id)
    expect(toolMessage(second, 'call_sh').content).toContain('/workspace/src')
    expect(toolMessage(second, 'call_sh').content).toContain('[exit code: 0]')
    expect(toolMessage(second, 'call_ap').content).toContain('Patch applied')
    const sh2 = toolMessage(third, 'call_sh2').content
    expect(sh2).toContain('/workspace/src\nhi\nbee')
    expect(sh2).toContain('[exit code: 5]')
    expect(toolMessage(third, 'call_bad').content).toMatch(
      /^shell failed: Invalid input for shell:\n- command: command must not be empty/,
    )
  })
})
