/**
 * The LangChain adapter in real agent loops: `createAgent` (langchain) with the scripted
 * `fakeModel`, and `ChatOpenAI` (@langchain/openai) against a provider-shaped fixture on
 * 127.0.0.1, both running the tools against the local backend.
 */
import { existsSync } from 'node:fs'
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { toJsonSchema } from '@langchain/core/utils/json_schema'
import { Command, MemorySaver } from '@langchain/langgraph'
import { ChatOpenAI } from '@langchain/openai'
import { createAgent, createMiddleware, humanInTheLoopMiddleware } from 'langchain'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type SandboxImageBlock,
  type SandboxLangChainTool,
  sandboxInterruptOn,
  sandboxTools,
} from '../../adapters/langchain/index.js'
import { PathError, ToolInputError } from '../../src/errors.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { allTools, type SandboxToolsOptions } from '../../src/tools/index.js'
import { type Fixture, startFixture, type Turn, turns } from '../fixtures/openai-fixture.js'

const sessions: SandboxSession[] = []
const fixtures: Fixture[] = []

function newSession(): SandboxSession {
  const session = createSession({ sandbox: () => localSandbox(`t-${crypto.randomUUID()}`) })
  sessions.push(session)
  return session
}

afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()))
  await Promise.all(sessions.splice(0).map((s) => s.destroy()))
})

async function fixture(...script: Turn[]): Promise<Fixture> {
  const f = await startFixture(turns(script))
  fixtures.push(f)
  return f
}

function toolMessages(messages: BaseMessage[]): ToolMessage[] {
  return messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m))
}

function byId(messages: BaseMessage[], id: string): ToolMessage {
  const found = toolMessages(messages).find((m) => m.tool_call_id === id)
  if (!found) throw new Error(`no ToolMessage for ${id}`)
  return found
}

/** What a message says: its text, or (for tool results with images) its content blocks as JSON. */
function text(message: BaseMessage): string {
  if (typeof message.content === 'string') return message.content
  if (message.content.every((b) => b.type === 'text')) return message.text
  return JSON.stringify(message.content)
}

async function readText(session: SandboxSession, path: string): Promise<string | null> {
  if (!(await session.exists(path))) return null
  return (await session.readFile(path)).content
}

/** The HITL request of an interrupted run. */
function interruptOf(result: { __interrupt__?: Array<{ value?: unknown }> }): any {
  const value = result.__interrupt__?.[0]?.value
  if (!value) throw new Error('the run was not interrupted')
  return value
}

function named(tools: SandboxLangChainTool[], name: string): SandboxLangChainTool {
  const found = tools.find((t) => t.name === name)
  if (!found) throw new Error(`no tool ${name}`)
  return found
}

/** A 1×1 PNG. */
const PNG_1PX =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

// ------------------------------------------------------------------ the tools themselves

describe('sandboxTools', () => {
  it('maps every spec: name, description and the JSON schema a model gets', () => {
    const tools = sandboxTools(newSession())
    expect(tools.map((t) => t.name)).toEqual(allTools.map((s) => s.name))
    for (const spec of allTools) {
      const t = named(tools, spec.name)
      expect(t.description).toBe(spec.description)
      expect(t.responseFormat).toBe('content_and_artifact')
      // exactly what passing the spec's own zod schema to tool() would send
      expect(toJsonSchema(t.schema)).toEqual(toJsonSchema(spec.inputSchema))
    }
  })

  it('selects with include / exclude and refuses unknown names', () => {
    const session = newSession()
    expect(sandboxTools(session, { include: ['shell', 'read_file'] }).map((t) => t.name)).toEqual([
      'shell',
      'read_file',
    ])
    const rest = sandboxTools(session, { exclude: ['shell', 'run_code'] }).map((t) => t.name)
    expect(rest).toHaveLength(allTools.length - 2)
    expect(rest).not.toContain('shell')
    expect(() => sandboxTools(session, { include: ['sh' as never] })).toThrow(/unknown tool name "sh"/)
    expect(() => sandboxTools(session, { approval: ['rm' as never] })).toThrow(/unknown tool name "rm"/)
  })

  it('bounds results with `output` and keeps the structured result in the artifact', async () => {
    const session = newSession()
    const shell = named(sandboxTools(session, { include: ['shell'], output: { maxBytes: 800 } }), 'shell')
    const message = (await shell.invoke({
      type: 'tool_call',
      id: 'c1',
      name: 'shell',
      args: { command: 'seq 1 20000' },
    })) as ToolMessage
    expect(ToolMessage.isInstance(message)).toBe(true)
    expect(message.status).toBe('success')
    const content = text(message)
    expect(new TextEncoder().encode(content).length).toBeLessThanOrEqual(800)
    expect(content).toContain('20000') // the tail is kept
    expect(content).toContain('[exit code: 0]')
    expect(message.artifact).toMatchObject({ command: 'seq 1 20000', exitCode: 0, timedOut: false })
  })

  it('called with plain arguments (no tool call) returns the content, and throws the typed error', async () => {
    const session = newSession()
    const tools = sandboxTools(session)
    await session.writeFile('hello.txt', 'hi\n')
    await expect(named(tools, 'read_file').invoke({ path: 'hello.txt' })).resolves.toContain('1\thi')
    await expect(named(tools, 'read_file').invoke({ path: '../../etc/passwd' })).rejects.toBeInstanceOf(
      PathError,
    )
    await expect(named(tools, 'shell').invoke({ command: 7 } as never)).rejects.toBeInstanceOf(ToolInputError)
  })
})

// ------------------------------------------------------------------ createAgent + fakeModel

describe('createAgent with fakeModel', () => {
  it('runs several tool calls against the sandbox; the model sees every result', async () => {
    const session = newSession()
    const model = fakeModel()
      .respondWithTools([
        { name: 'write_file', args: { path: 'src/app.py', content: 'print("hello")\n' }, id: 'w1' },
        { name: 'shell', args: { command: 'mkdir -p build && cd build && pwd' }, id: 's1' },
      ])
      .respondWithTools([
        { name: 'edit_file', args: { path: 'src/app.py', old_text: 'hello', new_text: 'world' }, id: 'e1' },
      ])
      .respondWithTools([{ name: 'shell', args: { command: 'pwd && python3 ../src/app.py' }, id: 's2' }])
      .respondWithTools([
        {
          name: 'apply_patch',
          args: { patch: '*** Begin Patch\n*** Add File: notes.md\n+# Notes\n+built\n*** End Patch' },
          id: 'p1',
        },
        { name: 'read_file', args: { path: 'src/app.py' }, id: 'r1' },
      ])
      // calls of one step run concurrently: list after the patch
      .respondWithTools([{ name: 'list_files', args: {}, id: 'l1' }])
      .respond(new AIMessage('All done'))
    const agent = createAgent({ model, tools: sandboxTools(session) })
    const out = await agent.invoke({ messages: [new HumanMessage('build it')] })

    expect(text(out.messages.at(-1)!)).toBe('All done')
    const results = toolMessages(out.messages)
    expect(results.map((m) => m.tool_call_id)).toEqual(['w1', 's1', 'e1', 's2', 'p1', 'r1', 'l1'])
    for (const m of results) expect(m.status, `${m.name}: ${text(m)}`).toBe('success')

    expect(text(byId(out.messages, 'w1'))).toMatch(/Created src\/app\.py/)
    expect(byId(out.messages, 'w1').artifact).toMatchObject({ path: '/workspace/src/app.py', created: true })
    expect(text(byId(out.messages, 's1'))).toContain('/workspace/build')
    // cwd carried over from s1; the edit from e1 is in place
    expect(text(byId(out.messages, 's2'))).toMatch(/\/workspace\/build\nworld/)
    expect(text(byId(out.messages, 'r1'))).toMatch(/1\tprint\("world"\)/)
    expect(text(byId(out.messages, 'l1'))).toContain('notes.md')

    // the workspace holds what the calls did
    expect(await readText(session, 'src/app.py')).toBe('print("world")\n')
    expect(await readText(session, 'notes.md')).toBe('# Notes\nbuilt\n')
    expect(await session.exists('build')).toBe(true)
    // each model call after the first saw the previous results
    expect(model.callCount).toBe(6)
    const lastCall = model.calls.at(-1)!.messages
    expect(toolMessages(lastCall).map((m) => m.tool_call_id)).toEqual([
      'w1',
      's1',
      'e1',
      's2',
      'p1',
      'r1',
      'l1',
    ])
  })

  it('shows images as image blocks and keeps the raw data in the artifact', async () => {
    const session = newSession()
    await session.writeFile('dot.png', PNG_1PX, { encoding: 'base64' })
    const model = fakeModel()
      .respondWithTools([{ name: 'read_file', args: { path: 'dot.png' }, id: 'img' }])
      .respond(new AIMessage('a dot'))
    const out = await createAgent({ model, tools: sandboxTools(session) }).invoke({
      messages: [new HumanMessage('look')],
    })
    const m = byId(out.messages, 'img')
    expect(m.status).toBe('success')
    expect(Array.isArray(m.content)).toBe(true)
    const blocks = m.content as Array<{ type: string }>
    expect(blocks[0]).toMatchObject({ type: 'text', text: expect.stringContaining('dot.png') })
    const image = blocks[1] as SandboxImageBlock
    expect(image).toMatchObject({ type: 'image', mimeType: 'image/png' })
    expect(image.data.replace(/=+$/, '')).toBe(PNG_1PX.replace(/=+$/, ''))
    // standard v1 blocks for everything that reads contentBlocks
    expect(m.contentBlocks[1]).toEqual({ type: 'image', mimeType: 'image/png', data: image.data })
    expect(m.artifact).toMatchObject({ mimeType: 'image/png' })
    expect(toolMessages(model.calls.at(-1)!.messages)[0]?.content).toEqual(m.content)
  })

  it('streams command progress through the LangGraph writer (streamMode "custom")', async () => {
    const session = newSession()
    const model = fakeModel()
      .respondWithTools([
        { name: 'shell', args: { command: 'echo first >&2; sleep 0.3; echo second >&2' }, id: 's1' },
      ])
      .respond(new AIMessage('ok'))
    const agent = createAgent({ model, tools: sandboxTools(session) })
    const progress: any[] = []
    const results: ToolMessage[] = []
    for await (const [mode, chunk] of await agent.stream(
      { messages: [new HumanMessage('go')] },
      { streamMode: ['custom', 'updates'] },
    )) {
      if (mode === 'custom' && (chunk as any)?.type === 'sandbox_progress') progress.push(chunk)
      if (mode === 'updates') results.push(...toolMessages((chunk as any).tools?.messages ?? []))
    }
    expect(results.map((m) => [m.status, text(m)])).toEqual([
      ['success', expect.stringContaining('first\nsecond')],
    ])
    expect(progress.length).toBeGreaterThan(0)
    expect(progress[0]).toMatchObject({ tool: 'shell', toolCallId: 's1' })
    expect(progress.map((p) => p.output).join('\n')).toContain('first')
  })
})

// ------------------------------------------------------------------ errors

describe('failed calls end as error ToolMessages and the loop goes on', () => {
  const escapeTarget = `/tmp/sat-escape-${crypto.randomUUID()}.txt`
  const badCalls = [
    { name: 'shell', args: { command: 42 }, id: 'bad-type' },
    { name: 'read_file', args: {}, id: 'missing-field' },
    { name: 'read_file', args: { path: '../../etc/passwd' }, id: 'escape-dotdot' },
    { name: 'write_file', args: { path: escapeTarget, content: 'owned' }, id: 'escape-abs' },
    { name: 'edit_file', args: { path: 'nope.txt', old_text: 'a', new_text: 'b' }, id: 'not-found' },
    { name: 'no_such_tool', args: {}, id: 'unknown' },
  ]

  async function runBadCalls(withWrapToolCall: boolean) {
    const session = newSession()
    const model = fakeModel()
      .respondWithTools(badCalls)
      .respondWithTools([{ name: 'shell', args: { command: 'echo still here' }, id: 'after' }])
      .respond(new AIMessage('recovered'))
    // A wrapToolCall middleware changes how createAgent treats thrown tool errors: without one it
    // wraps them ("…Please fix your mistakes."), with one they escape the loop unless they are
    // input-parsing errors. Our tools throw nothing, so both give the same messages.
    const passthrough = createMiddleware({
      name: 'Passthrough',
      wrapToolCall: (request, handler) => handler(request),
    })
    const agent = createAgent({
      model,
      tools: sandboxTools(session),
      middleware: withWrapToolCall ? [passthrough] : [],
    })
    const out = await agent.invoke({ messages: [new HumanMessage('try things')] })
    return { session, out }
  }

  for (const withWrapToolCall of [false, true]) {
    it(`names the field or reason${withWrapToolCall ? ' (with a wrapToolCall middleware)' : ''}`, async () => {
      const { session, out } = await runBadCalls(withWrapToolCall)
      expect(text(out.messages.at(-1)!)).toBe('recovered')
      for (const call of badCalls) {
        const m = byId(out.messages, call.id)
        expect(m.status, `${call.id}: ${text(m)}`).toBe('error')
        expect(text(m)).not.toContain('Please fix your mistakes')
        expect(text(m)).not.toMatch(/\n\s+at /) // no stack trace
      }
      expect(text(byId(out.messages, 'bad-type'))).toMatch(
        /^shell failed: Invalid input for shell:\n- command: /,
      )
      expect(byId(out.messages, 'bad-type').artifact).toMatchObject({ error: { code: 'INVALID_INPUT' } })
      expect(text(byId(out.messages, 'missing-field'))).toMatch(
        /^read_file failed: Invalid input[\s\S]*- path: /,
      )
      expect(text(byId(out.messages, 'escape-dotdot'))).toMatch(
        /^read_file failed: Refused path "\.\.\/\.\.\/etc\/passwd"/,
      )
      expect(byId(out.messages, 'escape-dotdot').artifact).toMatchObject({ error: { code: 'PATH_REFUSED' } })
      expect(text(byId(out.messages, 'escape-abs'))).toMatch(/^write_file failed: Refused path/)
      expect(text(byId(out.messages, 'not-found'))).toMatch(/^edit_file failed: .*nope\.txt/)
      expect(text(byId(out.messages, 'unknown'))).toMatch(/no_such_tool is not a valid tool/)
      expect(text(byId(out.messages, 'after'))).toContain('still here')
      // nothing escaped the workspace
      expect(existsSync(escapeTarget)).toBe(false)
      expect((await session.exec(`test -e ${escapeTarget}; echo $?`)).stdout.text.trim()).not.toBe('0')
    })
  }
})

// ------------------------------------------------------------------ human in the loop

describe('human in the loop (humanInTheLoopMiddleware + sandboxInterruptOn)', () => {
  function hitlAgent(
    session: SandboxSession,
    options: SandboxToolsOptions,
    model: ReturnType<typeof fakeModel>,
  ) {
    return createAgent({
      model,
      tools: sandboxTools(session, options),
      middleware: [humanInTheLoopMiddleware({ interruptOn: sandboxInterruptOn(options) })],
      checkpointer: new MemorySaver(),
    })
  }
  const config = () => ({ configurable: { thread_id: crypto.randomUUID() } })
  const marked = [
    { name: 'shell', args: { command: 'echo approved > a.txt' }, id: 's1' },
    { name: 'write_file', args: { path: 'free.txt', content: 'free' }, id: 'w1' },
  ]

  it('interrupts on a marked call and runs it when approved', async () => {
    const session = newSession()
    const options = { approval: ['shell'] } satisfies SandboxToolsOptions
    const agent = hitlAgent(
      session,
      options,
      fakeModel().respondWithTools(marked).respond(new AIMessage('done')),
    )
    const cfg = config()
    const first = await agent.invoke({ messages: [new HumanMessage('go')] }, cfg)
    const interrupt = interruptOf(first)
    expect(interrupt.actionRequests).toEqual([
      { name: 'shell', args: { command: 'echo approved > a.txt' }, description: expect.any(String) },
    ])
    expect(interrupt.reviewConfigs[0]).toMatchObject({
      actionName: 'shell',
      allowedDecisions: ['approve', 'edit', 'reject'],
    })
    expect(await session.exists('a.txt')).toBe(false) // nothing ran before the human decided

    const done = await agent.invoke(new Command({ resume: { decisions: [{ type: 'approve' }] } }), cfg)
    expect(text(done.messages.at(-1)!)).toBe('done')
    expect(byId(done.messages, 's1').status).toBe('success')
    expect(text(byId(done.messages, 's1'))).toContain('[exit code: 0]')
    expect(await readText(session, 'a.txt')).toBe('approved\n')
    expect(await readText(session, 'free.txt')).toBe('free')
  })

  it('does not run a rejected call; the model gets the reason', async () => {
    const session = newSession()
    const options = { approval: ['shell'] } satisfies SandboxToolsOptions
    const model = fakeModel().respondWithTools([marked[0]!]).respond(new AIMessage('understood'))
    const agent = hitlAgent(session, options, model)
    const cfg = config()
    await agent.invoke({ messages: [new HumanMessage('go')] }, cfg)
    const done = await agent.invoke(
      new Command({ resume: { decisions: [{ type: 'reject', message: 'no shell today' }] } }),
      cfg,
    )
    expect(text(done.messages.at(-1)!)).toBe('understood')
    const m = byId(done.messages, 's1')
    expect(m.status).toBe('error')
    expect(text(m)).toBe('no shell today')
    expect(await session.exists('a.txt')).toBe(false)
    expect(toolMessages(model.calls.at(-1)!.messages).map((x) => text(x))).toEqual(['no shell today'])
  })

  it('runs the edited call instead, validated like any other call', async () => {
    const session = newSession()
    const options = { approval: ['shell', 'write_file'] } satisfies SandboxToolsOptions
    const model = fakeModel().respondWithTools(marked).respond(new AIMessage('edited'))
    const agent = hitlAgent(session, options, model)
    const cfg = config()
    const first = await agent.invoke({ messages: [new HumanMessage('go')] }, cfg)
    expect(interruptOf(first).actionRequests.map((a: any) => a.name)).toEqual(['shell', 'write_file'])
    const done = await agent.invoke(
      new Command({
        resume: {
          decisions: [
            { type: 'edit', editedAction: { name: 'shell', args: { command: 'echo edited > b.txt' } } },
            { type: 'edit', editedAction: { name: 'write_file', args: { path: 'free.txt' } } }, // content missing
          ],
        },
      }),
      cfg,
    )
    expect(text(done.messages.at(-1)!)).toBe('edited')
    const edited = byId(done.messages, 's1')
    expect(edited.status).toBe('success')
    expect(text(edited)).toContain('[exit code: 0]')
    expect(await readText(session, 'b.txt')).toBe('edited\n')
    expect(await session.exists('a.txt')).toBe(false)
    expect(await session.exists('free.txt')).toBe(false)
    const invalid = byId(done.messages, 'w1')
    expect(invalid.status).toBe('error')
    expect(text(invalid)).toMatch(/- content: /)
  })

  it('asks a function policy per call (the middleware’s `when`)', async () => {
    const session = newSession()
    const options: SandboxToolsOptions = {
      approval: ({ name, input }) => name === 'shell' && /\brm\b/.test(String((input as any)?.command)),
    }
    const model = fakeModel()
      .respondWithTools([{ name: 'shell', args: { command: 'echo keep > k.txt' }, id: 'safe' }])
      .respondWithTools([{ name: 'shell', args: { command: 'rm k.txt' }, id: 'danger' }])
      .respond(new AIMessage('kept'))
    const agent = hitlAgent(session, options, model)
    const cfg = config()
    const first = await agent.invoke({ messages: [new HumanMessage('go')] }, cfg)
    // the safe call ran without a human; the rm waits
    const safe = byId(first.messages, 'safe')
    expect(safe.status).toBe('success')
    expect(text(safe)).toContain('[exit code: 0]')
    expect(await readText(session, 'k.txt')).toBe('keep\n')
    expect(interruptOf(first).actionRequests).toEqual([
      expect.objectContaining({ name: 'shell', args: { command: 'rm k.txt' } }),
    ])
    const done = await agent.invoke(new Command({ resume: { decisions: [{ type: 'reject' }] } }), cfg)
    expect(text(done.messages.at(-1)!)).toBe('kept')
    expect(await readText(session, 'k.txt')).toBe('keep\n')
  })

  it('builds the interruptOn map from the same options', () => {
    expect(sandboxInterruptOn()).toEqual({})
    expect(sandboxInterruptOn({ approval: false })).toEqual({})
    const all = sandboxInterruptOn({ approval: true, exclude: ['read_file'] })
    expect(Object.keys(all)).toEqual(allTools.map((t) => t.name).filter((n) => n !== 'read_file'))
    expect(all.shell).toEqual({ allowedDecisions: ['approve', 'edit', 'reject'] })
    expect(
      sandboxInterruptOn(
        { approval: ['shell', 'write_file'], include: ['shell', 'read_file'] },
        { allowedDecisions: ['approve', 'reject'], description: 'Check this command' },
      ),
    ).toEqual({ shell: { allowedDecisions: ['approve', 'reject'], description: 'Check this command' } })
    const fn = sandboxInterruptOn({ approval: () => true, include: ['shell'] })
    expect(Object.keys(fn)).toEqual(['shell'])
    expect(typeof fn.shell?.when).toBe('function')
    expect(() => sandboxInterruptOn({ approval: ['nope' as never] })).toThrow(/unknown tool name "nope"/)
  })
})

// ------------------------------------------------------------------ ChatOpenAI on the wire

const chart = [
  'import matplotlib',
  'matplotlib.use("Agg")',
  'import matplotlib.pyplot as plt',
  'import csv',
  'rows = list(csv.DictReader(open("data.csv")))',
  'plt.plot([int(r["x"]) for r in rows], [int(r["y"]) for r in rows])',
  'plt.show()',
].join('\n')

describe('ChatOpenAI against a provider-shaped fixture', () => {
  it('Chat Completions: tool calls run, results and chart images go back in the next request', async () => {
    const session = newSession()
    const f = await fixture(
      {
        toolCalls: [
          { id: 'call_w', name: 'write_file', args: { path: 'data.csv', content: 'x,y\n1,2\n2,4\n3,8\n' } },
          { id: 'call_c', name: 'run_code', args: { code: chart } },
          { id: 'call_x', name: 'read_file', args: { path: '../../etc/passwd' } },
        ],
      },
      { text: 'Here is your chart.' },
    )
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: 'x',
      configuration: { baseURL: f.baseURL },
      maxRetries: 0,
    })
    const agent = createAgent({ model, tools: sandboxTools(session) })
    const out = await agent.invoke({ messages: [new HumanMessage('plot data.csv')] })
    expect(text(out.messages.at(-1)!)).toBe('Here is your chart.')

    expect(Object.keys(f.requests)).toEqual(['/v1/chat/completions'])
    expect(f.requests['/v1/chat/completions']).toHaveLength(2)
    const [first, second] = f.requests['/v1/chat/completions']!
    // our tools, as function tools with the specs' schemas
    expect(first.tools.map((t: any) => t.function.name)).toEqual(allTools.map((s) => s.name))
    for (const spec of allTools) {
      const sent = first.tools.find((t: any) => t.function.name === spec.name)
      expect(sent.function.description).toBe(spec.description)
      const { $schema: _, ...expected } = toJsonSchema(spec.inputSchema) as Record<string, unknown>
      const { $schema: __, ...parameters } = sent.function.parameters
      expect(parameters).toEqual(expected)
    }
    // the follow-up request carries the assistant's calls and our results
    const assistant = second.messages.find((m: any) => m.role === 'assistant')
    expect(assistant.tool_calls.map((c: any) => c.id)).toEqual(['call_w', 'call_c', 'call_x'])
    const results = Object.fromEntries(
      second.messages.filter((m: any) => m.role === 'tool').map((m: any) => [m.tool_call_id, m.content]),
    )
    expect(Object.keys(results)).toEqual(['call_w', 'call_c', 'call_x'])
    expect(results.call_w).toMatch(/^Created data\.csv/)
    expect(results.call_x).toMatch(/^read_file failed: Refused path/)
    const chartParts = results.call_c as any[]
    expect(Array.isArray(chartParts), JSON.stringify(results.call_c).slice(0, 400)).toBe(true)
    expect(chartParts[0]).toMatchObject({ type: 'text' })
    expect(chartParts.slice(1)).toEqual([
      { type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/png;base64,iVBORw0KGgo/) } },
    ])
    // the raw data stays on the ToolMessage (artifact), not in what the model saw
    expect(byId(out.messages, 'call_c').artifact).toMatchObject({
      results: [expect.objectContaining({ png: expect.any(String) })],
    })
  })

  it('Responses API: chart images go back as input_image in function_call_output', async () => {
    const session = newSession()
    await session.writeFile('data.csv', 'x,y\n1,1\n2,3\n')
    const f = await fixture(
      { toolCalls: [{ id: 'call_c', name: 'run_code', args: { code: chart } }] },
      { text: 'done' },
    )
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: 'x',
      configuration: { baseURL: f.baseURL },
      maxRetries: 0,
      useResponsesApi: true,
    })
    const out = await createAgent({ model, tools: sandboxTools(session, { include: ['run_code'] }) }).invoke({
      messages: [new HumanMessage('plot')],
    })
    expect(text(out.messages.at(-1)!)).toBe('done')
    expect(Object.keys(f.requests)).toEqual(['/v1/responses'])
    expect(f.requests['/v1/responses']).toHaveLength(2)
    const output = f.requests['/v1/responses']![1].input.find((i: any) => i.type === 'function_call_output')
    expect(output.call_id).toBe('call_c')
    expect(output.output[0]).toMatchObject({ type: 'input_text' })
    expect(output.output[1]).toMatchObject({
      type: 'input_image',
      image_url: expect.stringMatching(/^data:image\/png;base64,iVBORw0KGgo/),
    })
  })
})
