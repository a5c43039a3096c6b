/**
 * The AI SDK adapter in real loops: `generateText` / `streamText` driven by `MockLanguageModelV4`
 * and by the real `@ai-sdk/openai` client (Responses and Chat) against a provider-shaped fixture on
 * 127.0.0.1, every tool call running for real on the local backend.
 */
import { createOpenAI } from '@ai-sdk/openai'
import { asSchema, generateText, type ModelMessage, stepCountIs, streamText } from 'ai'
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type SandboxToolOutput, sandboxToolApproval, sandboxTools } from '../../adapters/ai/index.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { toolNames } from '../../src/tools/index.js'
import {
  chat,
  type Fixture,
  functionCallItem,
  messageItem,
  responses,
  startFixture,
} from '../fixtures/openai-fixture.js'
import { aiInvoker } from '../reliability/invokers.js'
import { describeToolSuite } from '../tools/suite.js'

// ------------------------------------------------------------------ scripted model helpers

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
}

type Call = { type: 'tool-call'; toolCallId: string; toolName: string; input: string }

function call(toolCallId: string, toolName: string, input: unknown): Call {
  return {
    type: 'tool-call',
    toolCallId,
    toolName,
    input: typeof input === 'string' ? input : JSON.stringify(input),
  }
}

function calls(...content: Call[]) {
  return { content, finishReason: { unified: 'tool-calls' as const, raw: 'tool_use' }, usage, warnings: [] }
}

function answer(text: string) {
  return {
    content: [{ type: 'text' as const, text }],
    finishReason: { unified: 'stop' as const, raw: 'stop' },
    usage,
    warnings: [],
  }
}

function streamCalls(...content: Call[]) {
  return {
    stream: convertArrayToReadableStream<any>([
      { type: 'stream-start', warnings: [] },
      ...content,
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage },
    ]),
  }
}

function streamAnswer(text: string) {
  return {
    stream: convertArrayToReadableStream<any>([
      { type: 'stream-start', warnings: [] },
      { type: 'text-start', id: 't1' },
      { type: 'text-delta', id: 't1', delta: text },
      { type: 'text-end', id: 't1' },
      { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
    ]),
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The tool results a model received in one call's prompt, by tool call id. */
function toolResultsIn(prompt: readonly any[] | undefined): Map<string, any> {
  const out = new Map<string, any>()
  for (const message of prompt ?? []) {
    if (message.role !== 'tool') continue
    for (const part of message.content) if (part.type === 'tool-result') out.set(part.toolCallId, part.output)
  }
  return out
}

const CHART_CODE = 'import matplotlib.pyplot as plt\nplt.plot([1,2,3])\nplt.show()'
const PNG_SIGNATURE_B64 = 'iVBORw0KGgo'
/** A 1×1 PNG. */
const DOT_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

let session: SandboxSession

beforeEach(() => {
  session = createSession({ sandbox: () => localSandbox(`t-${crypto.randomUUID()}`) })
})

afterEach(async () => {
  await session.destroy()
})

// ------------------------------------------------------------------ the shared tool suite

// Every call runs through a real generateText loop: the scripted model calls the tool, the SDK
// validates and executes it, and the next model call's prompt is what the model would read.
describeToolSuite('the AI SDK adapter (generateText)', (session) => aiInvoker(session))

// ------------------------------------------------------------------ the ToolSet

describe('sandboxTools (ai): the ToolSet', () => {
  it('offers every tool under its neutral name, with the spec description and JSON schema', async () => {
    const tools = sandboxTools(session)
    expect(Object.keys(tools)).toEqual([...toolNames])
    expect(tools.shell.description).toMatch(/bash command line/)
    const schema = (await asSchema(tools.shell.inputSchema).jsonSchema) as any
    expect(schema.type).toBe('object')
    expect(Object.keys(schema.properties)).toEqual(['command', 'timeout_ms'])
    expect(schema.required).toEqual(['command'])
    expect(session.started).toBe(false)
  })

  it('honours include and exclude, and refuses unknown names', () => {
    expect(Object.keys(sandboxTools(session, { include: ['shell', 'read_file'] }))).toEqual([
      'shell',
      'read_file',
    ])
    const rest = Object.keys(sandboxTools(session, { exclude: ['expose_port', 'start_process'] }))
    expect(rest).not.toContain('expose_port')
    expect(rest).not.toContain('start_process')
    expect(rest).toContain('shell')
    expect(() => sandboxTools(session, { include: ['sh' as any] })).toThrow(/unknown tool name "sh"/)
  })
})

// ------------------------------------------------------------------ loops with a scripted model

describe('generateText with MockLanguageModelV4', () => {
  it('runs tool calls across several steps against the sandbox; the model reads the shaped text', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(call('c1', 'write_file', { path: 'src/hello.py', content: 'print("hi from python")\n' })),
        calls(call('c2', 'shell', { command: 'cd src && python3 hello.py && export GREETING=hey' })),
        calls(
          call('c3', 'shell', { command: 'pwd; echo "greeting=$GREETING"' }),
          call('c4', 'read_file', { path: 'src/hello.py' }),
        ),
        answer('all done'),
      ],
    })
    const result = await generateText({
      model,
      tools: sandboxTools(session),
      stopWhen: stepCountIs(10),
      prompt: 'go',
    })

    expect(result.text).toBe('all done')
    expect(result.steps).toHaveLength(4)
    // the workspace really changed
    expect((await session.readFile('src/hello.py')).content).toBe('print("hi from python")\n')

    const sent2 = toolResultsIn(model.doGenerateCalls[1]?.prompt)
    expect(sent2.get('c1')).toEqual({ type: 'text', value: 'Created src/hello.py (24 bytes).' })

    const sent3 = toolResultsIn(model.doGenerateCalls[2]?.prompt)
    expect(sent3.get('c2')?.type).toBe('text')
    expect(sent3.get('c2')?.value).toContain('hi from python')
    expect(sent3.get('c2')?.value).toContain('[exit code: 0]')

    const sent4 = toolResultsIn(model.doGenerateCalls[3]?.prompt)
    // cd and export carried over to the next call
    expect(sent4.get('c3')?.value).toMatch(/\/src\n/)
    expect(sent4.get('c3')?.value).toContain('greeting=hey')
    expect(sent4.get('c4')?.value).toMatch(/1\tprint\("hi from python"\)/)

    // the program gets the structured result; the model never sees it
    const shellResult = result.steps[1]?.toolResults[0]
    expect(shellResult?.dynamic).toBeFalsy()
    expect(shellResult && !shellResult.dynamic && shellResult.output.data).toMatchObject({
      exitCode: 0,
      timedOut: false,
    })
    expect(JSON.stringify(sent3.get('c2'))).not.toContain('durationMs')
  })

  it('hands a failing call to the model as an error with the real reason, and the loop goes on', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(
          call('c1', 'read_file', { path: 'missing.txt' }),
          call('c2', 'write_file', { path: '../outside.txt', content: 'x' }),
        ),
        answer('recovered'),
      ],
    })
    const result = await generateText({
      model,
      tools: sandboxTools(session),
      stopWhen: stepCountIs(5),
      prompt: 'go',
    })

    expect(result.text).toBe('recovered')
    const errors = result.steps[0]?.content.filter((p) => p.type === 'tool-error') ?? []
    expect(errors.map((e) => e.toolName).sort()).toEqual(['read_file', 'write_file'])
    const sent = toolResultsIn(model.doGenerateCalls[1]?.prompt)
    expect(sent.get('c1')).toEqual({
      type: 'error-text',
      value: expect.stringMatching(/^read_file failed: File not found: missing\.txt[\s\S]*list_files/),
    })
    expect(sent.get('c2')).toEqual({
      type: 'error-text',
      value: expect.stringMatching(/^write_file failed: Refused path "\.\.\/outside\.txt"/),
    })
  })

  it('gives the model a clear error naming the field when its input is invalid, and runs nothing', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(call('c1', 'shell', { command: 42 }), call('c2', 'write_file', { path: 'never.txt' })),
        answer('fixed'),
      ],
    })
    const result = await generateText({
      model,
      tools: sandboxTools(session),
      stopWhen: stepCountIs(5),
      prompt: 'go',
    })

    expect(result.text).toBe('fixed')
    const sent = toolResultsIn(model.doGenerateCalls[1]?.prompt)
    expect(sent.get('c1')?.type).toBe('error-text')
    expect(sent.get('c1')?.value).toContain('Invalid input for shell:\n- command:')
    expect(sent.get('c1')?.value).toContain('Expected: { command, timeout_ms? }')
    expect(sent.get('c2')?.type).toBe('error-text')
    expect(sent.get('c2')?.value).toContain('- content:')
    expect(await session.exists('never.txt')).toBe(false)
  })

  it('sends run_code charts and images read with read_file to the model as image file parts', async () => {
    await session.writeFile('img/dot.png', DOT_PNG, { encoding: 'base64' })
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(call('c1', 'run_code', { code: CHART_CODE })),
        calls(call('c2', 'read_file', { path: 'img/dot.png' })),
        answer('seen'),
      ],
    })
    const result = await generateText({
      model,
      tools: sandboxTools(session),
      stopWhen: stepCountIs(5),
      prompt: 'plot',
    })
    expect(result.text).toBe('seen')

    const chart = toolResultsIn(model.doGenerateCalls[1]?.prompt).get('c1')
    expect(chart.type).toBe('content')
    expect(chart.value[0]).toEqual({ type: 'text', text: expect.stringContaining('[image]') })
    expect(chart.value[1]).toEqual({
      type: 'file',
      mediaType: 'image/png',
      data: { type: 'data', data: expect.stringMatching(new RegExp(`^${PNG_SIGNATURE_B64}`)) },
    })
    // the execution result (logs, rich results) stays with the program
    expect(JSON.stringify(chart)).not.toContain('"logs"')
    expect((result.steps[0]?.toolResults[0]?.output as SandboxToolOutput | undefined)?.data).toHaveProperty(
      'logs',
    )

    const image = toolResultsIn(model.doGenerateCalls[2]?.prompt).get('c2')
    expect(image).toEqual({
      type: 'content',
      value: [
        { type: 'text', text: expect.stringContaining('img/dot.png') },
        { type: 'file', mediaType: 'image/png', data: { type: 'data', data: DOT_PNG } },
      ],
    })
  })

  it('keeps images out of the model output with images: false', async () => {
    await session.writeFile('dot.png', DOT_PNG, { encoding: 'base64' })
    const model = new MockLanguageModelV4({
      doGenerate: [calls(call('c1', 'read_file', { path: 'dot.png' })), answer('ok')],
    })
    await generateText({
      model,
      tools: sandboxTools(session, { images: false }),
      stopWhen: stepCountIs(5),
      prompt: 'go',
    })
    const sent = toolResultsIn(model.doGenerateCalls[1]?.prompt).get('c1')
    expect(sent).toEqual({ type: 'text', value: expect.stringContaining('Image dot.png (image/png') })
  })

  it('applies the output limits', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [calls(call('c1', 'shell', { command: 'seq 1 5000' })), answer('ok')],
    })
    await generateText({
      model,
      tools: sandboxTools(session, { output: { maxBytes: 1024 } }),
      stopWhen: stepCountIs(5),
      prompt: 'go',
    })
    const sent = toolResultsIn(model.doGenerateCalls[1]?.prompt).get('c1')
    expect(new TextEncoder().encode(sent.value).length).toBeLessThanOrEqual(1024)
    expect(sent.value).toMatch(/^1\n2\n/)
    expect(sent.value).toContain('5000')
  })
})

describe('streamText with MockLanguageModelV4', () => {
  it.each([
    ['stdout', 'for i in 1 2 3; do echo $i; sleep 0.3; done', ''],
    ['stderr', 'for i in 1 2 3; do echo $i >&2; sleep 0.3; done', '[stderr]\n'],
  ])(
    'streams shell output (%s) as preliminary results; only the final result reaches the model',
    async (_, command, heading) => {
      const model = new MockLanguageModelV4({
        doStream: [streamCalls(call('c1', 'shell', { command })), streamAnswer('counted')],
      })
      const result = streamText({
        model,
        tools: sandboxTools(session),
        stopWhen: stepCountIs(5),
        prompt: 'count',
      })
      const results: Array<{ preliminary: boolean; output: SandboxToolOutput }> = []
      for await (const part of result.fullStream) {
        if (part.type === 'tool-result') {
          results.push({ preliminary: part.preliminary === true, output: part.output as SandboxToolOutput })
        }
      }
      expect(await result.text).toBe('counted')

      const final = results.at(-1)
      expect(final?.preliminary).toBe(false)
      expect(final?.output.partial).toBeUndefined()
      expect(final?.output.text).toMatch(
        new RegExp(`^${escapeRegExp(heading)}1\\n2\\n3\\n\\[exit code: 0\\]`),
      )
      // output arrived while the command ran: partial results, each a prefix of the final output
      const partials = results.filter((r) => r.output.partial === true)
      expect(partials.length).toBeGreaterThan(0)
      expect(results.indexOf(partials[0]!)).toBeLessThan(results.length - 1)
      for (const p of partials) {
        expect(p.preliminary).toBe(true)
        expect(p.output.data).toBeNull()
        expect(p.output.text).not.toBe('')
        expect(`${heading}1\n2\n3`.startsWith(p.output.text)).toBe(true)
      }
      // the model got the final, shaped text — not a partial
      const sent = toolResultsIn(model.doStreamCalls[1]?.prompt)
      expect(sent.size).toBe(1)
      expect(sent.get('c1')).toEqual({ type: 'text', value: final?.output.text })
    },
  )

  it('ends a streaming call promptly when the caller aborts', async () => {
    const model = new MockLanguageModelV4({
      doStream: [
        // runs past the test timeout unless the abort ends the call; the second line is there because
        // the session reports progress at most every 100 ms, on the next output event
        streamCalls(
          call('c1', 'shell', {
            command: 'echo started >&2; sleep 0.3; echo running >&2; sleep 120; echo never',
          }),
        ),
        streamAnswer('no'),
      ],
    })
    const controller = new AbortController()
    const result = streamText({
      model,
      tools: sandboxTools(session),
      stopWhen: stepCountIs(5),
      prompt: 'go',
      abortSignal: controller.signal,
    })
    const types: string[] = []
    const outputs: any[] = []
    for await (const part of result.fullStream) {
      types.push(part.type)
      if (part.type === 'tool-result') {
        const output = part.output as SandboxToolOutput
        outputs.push(output)
        if (output.partial && output.text.includes('started')) controller.abort()
      }
    }
    expect(types).toContain('abort')
    expect(outputs.some((o) => o.text.includes('never'))).toBe(false)
    expect(model.doStreamCalls).toHaveLength(1)
  })

  it('reports a failure of a streaming tool as a tool error with the real reason', async () => {
    const broken = createSession({
      sandbox: () => {
        throw new Error('no sandbox for you today')
      },
    })
    const model = new MockLanguageModelV4({
      doStream: [streamCalls(call('c1', 'shell', { command: 'ls' })), streamAnswer('noted')],
    })
    const result = streamText({ model, tools: sandboxTools(broken), stopWhen: stepCountIs(5), prompt: 'go' })
    const errors: unknown[] = []
    for await (const part of result.fullStream) if (part.type === 'tool-error') errors.push(part.error)
    expect(await result.text).toBe('noted')
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('shell failed: no sandbox for you today')
    expect(toolResultsIn(model.doStreamCalls[1]?.prompt).get('c1')).toEqual({
      type: 'error-text',
      value: 'shell failed: no sandbox for you today',
    })
  })
})

// ------------------------------------------------------------------ approval

describe('approval', () => {
  async function firstRound(tools: any, model: MockLanguageModelV4, extra: Record<string, unknown> = {}) {
    const messages: ModelMessage[] = [{ role: 'user', content: 'write it' }]
    const result = await generateText({ model, tools, stopWhen: stepCountIs(5), messages, ...extra })
    messages.push(...result.responseMessages)
    const requests = result.content.filter((p) => p.type === 'tool-approval-request')
    return { result, messages, requests }
  }

  it('asks before a marked call (approval option), runs it once approved', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(call('c1', 'write_file', { path: 'approved.txt', content: 'yes' })),
        answer('written'),
      ],
    })
    const tools = sandboxTools(session, { approval: ['write_file'] })
    const { messages, requests } = await firstRound(tools, model)

    expect(requests).toHaveLength(1)
    expect(requests[0]?.toolCall).toMatchObject({
      toolName: 'write_file',
      input: { path: 'approved.txt', content: 'yes' },
    })
    expect(await session.exists('approved.txt')).toBe(false)
    expect(model.doGenerateCalls).toHaveLength(1)

    messages.push({
      role: 'tool',
      content: [{ type: 'tool-approval-response', approvalId: requests[0]!.approvalId, approved: true }],
    })
    const second = await generateText({ model, tools, stopWhen: stepCountIs(5), messages })
    expect(second.text).toBe('written')
    expect((await session.readFile('approved.txt')).content).toBe('yes')
    expect(toolResultsIn(model.doGenerateCalls[1]?.prompt).get('c1')).toEqual({
      type: 'text',
      value: 'Created approved.txt (3 bytes).',
    })
  })

  it('never runs a denied call; the model is told it was denied', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(call('c1', 'write_file', { path: 'denied.txt', content: 'no' })),
        answer('ok, not written'),
      ],
    })
    const tools = sandboxTools(session, { approval: true })
    const { messages, requests } = await firstRound(tools, model)
    expect(requests).toHaveLength(1)

    messages.push({
      role: 'tool',
      content: [
        {
          type: 'tool-approval-response',
          approvalId: requests[0]!.approvalId,
          approved: false,
          reason: 'not today',
        },
      ],
    })
    const second = await generateText({ model, tools, stopWhen: stepCountIs(5), messages })
    expect(second.text).toBe('ok, not written')
    expect(await session.exists('denied.txt')).toBe(false)
    expect(toolResultsIn(model.doGenerateCalls[1]?.prompt).get('c1')).toMatchObject({
      type: 'execution-denied',
      reason: 'not today',
    })
  })

  it('sandboxToolApproval gives toolApproval the same policy; unmarked calls run at once', async () => {
    await session.writeFile('victim.txt', 'keep me')
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(
          call('c1', 'shell', { command: 'rm victim.txt' }),
          call('c2', 'shell', { command: 'echo harmless' }),
        ),
        answer('done'),
      ],
    })
    const policy = ({ name, input }: { name: string; input: unknown }) =>
      name === 'shell' && /\brm\b/.test((input as { command: string }).command)
    const tools = sandboxTools(session)
    const { result, messages, requests } = await firstRound(tools, model, {
      toolApproval: sandboxToolApproval({ approval: policy }),
    })

    expect(requests.map((r) => r.toolCall.toolCallId)).toEqual(['c1'])
    const ran = result.content.filter((p) => p.type === 'tool-result')
    expect(ran.map((p) => p.toolCallId)).toEqual(['c2'])
    expect(await session.exists('victim.txt')).toBe(true)

    messages.push({
      role: 'tool',
      content: [{ type: 'tool-approval-response', approvalId: requests[0]!.approvalId, approved: false }],
    })
    await generateText({
      model,
      tools,
      stopWhen: stepCountIs(5),
      messages,
      toolApproval: sandboxToolApproval({ approval: policy }),
    })
    expect(await session.exists('victim.txt')).toBe(true)
    const sent = toolResultsIn(model.doGenerateCalls[1]?.prompt)
    expect(sent.get('c1')?.type).toBe('execution-denied')
    expect(sent.get('c2')?.value).toContain('harmless')
  })

  it('a predicate approval option decides per call', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        calls(
          call('c1', 'write_file', { path: 'notes/a.md', content: 'a' }),
          call('c2', 'write_file', { path: 'a.sh', content: 'x' }),
        ),
      ],
    })
    const tools = sandboxTools(session, {
      approval: ({ input }) => String((input as { path?: string }).path).endsWith('.sh'),
    })
    const { requests } = await firstRound(tools, model)
    expect(requests.map((r) => r.toolCall.toolCallId)).toEqual(['c2'])
    expect(await session.exists('notes/a.md')).toBe(true)
    expect(await session.exists('a.sh')).toBe(false)
  })
})

// ------------------------------------------------------------------ the real @ai-sdk/openai provider

describe('the real @ai-sdk/openai provider against a provider-shaped fixture', () => {
  let fixture: Fixture | undefined

  afterEach(async () => {
    await fixture?.close()
    fixture = undefined
  })

  it('Responses API: the follow-up requests carry our shaped output and the chart as input_image', async () => {
    fixture = await startFixture({
      '/v1/responses': [
        responses([functionCallItem('call_1', 'shell', { command: 'echo hello from the sandbox' })]),
        responses([functionCallItem('call_2', 'run_code', { code: CHART_CODE })]),
        responses([messageItem('All done')]),
      ],
    })
    const openai = createOpenAI({ baseURL: fixture.baseURL, apiKey: 'x' })
    const result = await generateText({
      model: openai.responses('m'),
      tools: sandboxTools(session),
      stopWhen: stepCountIs(5),
      prompt: 'say hello, then plot',
    })
    expect(result.text).toBe('All done')

    const [first, second, third] = fixture.requests['/v1/responses'] ?? []
    const offered = (first.tools as any[]).map((t) => [t.type, t.name])
    expect(offered).toEqual(toolNames.map((n) => ['function', n]))
    expect(first.tools[0].parameters.properties.command.type).toBe('string')

    const shellOut = (second.input as any[]).find(
      (i) => i.type === 'function_call_output' && i.call_id === 'call_1',
    )
    expect(shellOut.output).toMatch(/^hello from the sandbox\n\[exit code: 0\] \[cwd: \/workspace\]$/)

    const chartOut = (third.input as any[]).find(
      (i) => i.type === 'function_call_output' && i.call_id === 'call_2',
    )
    expect(chartOut.output).toEqual([
      { type: 'input_text', text: expect.stringContaining('[image]') },
      {
        type: 'input_image',
        image_url: expect.stringMatching(new RegExp(`^data:image/png;base64,${PNG_SIGNATURE_B64}`)),
      },
    ])
  })

  it('Chat Completions: tool messages carry our text and the real error reason', async () => {
    fixture = await startFixture({
      '/v1/chat/completions': [
        chat({
          toolCalls: [
            { id: 'call_1', name: 'shell', args: { command: 'echo hello chat' } },
            { id: 'call_2', name: 'read_file', args: { path: 'nope.txt' } },
          ],
        }),
        chat({ toolCalls: [{ id: 'call_3', name: 'run_code', args: { code: CHART_CODE } }] }),
        chat({ text: 'Finished' }),
      ],
    })
    const openai = createOpenAI({ baseURL: fixture.baseURL, apiKey: 'x' })
    const result = await generateText({
      model: openai.chat('m'),
      tools: sandboxTools(session, { images: false }),
      stopWhen: stepCountIs(5),
      prompt: 'go',
    })
    expect(result.text).toBe('Finished')

    const [first, second, third] = fixture.requests['/v1/chat/completions'] ?? []
    expect((first.tools as any[]).map((t) => t.function.name)).toEqual([...toolNames])

    const toolMessages = (second.messages as any[]).filter((m) => m.role === 'tool')
    const byId = new Map(toolMessages.map((m) => [m.tool_call_id, m.content]))
    expect(byId.get('call_1')).toMatch(/^hello chat\n\[exit code: 0\]/)
    expect(JSON.parse(byId.get('call_2'))).toEqual({
      error: expect.stringMatching(/^read_file failed: File not found: nope\.txt/),
    })

    const chart = (third.messages as any[]).find((m) => m.role === 'tool' && m.tool_call_id === 'call_3')
    expect(chart.content).toContain('[image]')
    expect(chart.content).not.toContain(PNG_SIGNATURE_B64)
  })
})
