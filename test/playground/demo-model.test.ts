/**
 * The playground's scripted demo model (examples/playground/demo-model.ts): which items it sends for
 * the tools a request offers, how it finds its place from the request alone, and that real clients —
 * `@ai-sdk/openai` (Responses and Chat Completions, streaming) and the OpenAI Agents SDK (Responses,
 * streaming, native shell/apply_patch) — walk the whole showcase against it to the summary.
 */
import { createOpenAI } from '@ai-sdk/openai'
import {
  Agent,
  type ApplyPatchResult,
  tool as agentsTool,
  applyPatchTool,
  type Editor,
  OpenAIResponsesModel,
  Runner,
  type Shell,
  shellTool,
} from '@openai/agents'
import { isStepCount, streamText, tool } from 'ai'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { showcaseSteps, showcaseSummary, showcaseTask } from '../../examples/demo/showcase.js'
import {
  chatReply,
  type DemoModel,
  nextTurn,
  offeredTools,
  planTurns,
  responsesEvents,
  responsesReply,
  startDemoModel,
  toolOutputsSinceTask,
} from '../../examples/playground/demo-model.js'
import { applyUpdate } from '../../src/patch.js'

const TOOL_NAMES = [
  'shell',
  'read_file',
  'write_file',
  'edit_file',
  'apply_patch',
  'list_files',
  'run_code',
  'start_process',
  'process_output',
  'stop_process',
  'expose_port',
]
const functionTools = (names = TOOL_NAMES) =>
  names.map((name) => ({ type: 'function', name, parameters: {}, strict: false }))
const nativeTools = () => [
  ...functionTools(TOOL_NAMES.filter((n) => n !== 'shell' && n !== 'apply_patch')),
  { type: 'shell', environment: { type: 'local' } },
  { type: 'apply_patch' },
]
const chatTools = (names = TOOL_NAMES) =>
  names.map((name) => ({ type: 'function', function: { name, parameters: {} } }))

/** Plays a Responses API conversation to its end: each call answered with "ok", as a client would. */
function playResponses(tools: unknown[], task = showcaseTask) {
  const input: any[] = [{ role: 'user', content: task }]
  const replies: any[][] = []
  for (let i = 0; i < 20; i++) {
    const { output } = responsesReply({ model: 'demo-model', input: [...input], tools })
    replies.push(output)
    input.push(...output)
    const calls = output.filter((item: any) => item.type !== 'message')
    if (calls.length === 0) return replies
    for (const call of calls) {
      input.push({ type: `${call.type}_output`, call_id: call.call_id, output: 'ok' })
    }
  }
  throw new Error('the demo model never finished')
}

describe('the demo model, request by request', () => {
  it('walks the showcase with function calls when only function tools are offered', () => {
    expect(planTurns(offeredTools({ tools: functionTools() })).map((t) => t.calls.length)).toEqual([
      ...showcaseSteps.map(() => 1),
      0,
    ])
    const replies = playResponses(functionTools())
    expect(replies).toHaveLength(showcaseSteps.length + 1)
    replies.slice(0, -1).forEach((output, i) => {
      const step = showcaseSteps[i]!
      expect(output.map((item: any) => item.type)).toEqual(['message', 'function_call'])
      expect(output[0].content[0].text).toBe(step.say)
      expect(output[1].name).toBe(step.tool)
      expect(JSON.parse(output[1].arguments)).toEqual(step.input)
    })
    const final = replies.at(-1)!
    expect(final.map((item: any) => item.type)).toEqual(['message'])
    expect(final[0].content[0].text).toBe(showcaseSummary)
  })

  it('uses native shell_call and apply_patch_call items when the request offers those tools', () => {
    const replies = playResponses(nativeTools())
    const kinds = replies.map((output) =>
      output.filter((i: any) => i.type !== 'message').map((i: any) => i.type),
    )
    expect(kinds).toEqual([
      ['function_call'], // write_file
      ['shell_call'],
      ['apply_patch_call'],
      ['shell_call'],
      ['function_call'], // run_code
      ['function_call'], // start_process
      ['function_call'], // expose_port
      [],
    ])
    const shell = replies[1]!.find((i: any) => i.type === 'shell_call')
    expect(shell.action.commands).toEqual([showcaseSteps[1]!.input.command])
    // the native update diff applies to the file the first step wrote, as the patch step does
    const patch = replies[2]!.find((i: any) => i.type === 'apply_patch_call').operation
    expect(patch).toMatchObject({ type: 'update_file', path: 'sales/summary.py' })
    const patched = applyUpdate(String(showcaseSteps[0]!.input.content), patch.diff)
    expect(patched).toContain("    if not row['amount']:\n        continue\n")
  })

  it('writes files with a native create_file when write_file is not offered but apply_patch is', () => {
    const tools = nativeTools().filter((t: any) => t.name !== 'write_file')
    const first = responsesReply({ input: showcaseTask, tools }).output
    const call = first.find((i: any) => i.type === 'apply_patch_call')
    expect(call.operation.type).toBe('create_file')
    expect(call.operation.diff.split('\n')[0]).toBe('+import csv, io')
  })

  it('leaves out steps whose tool is not offered and says so at the end', () => {
    const replies = playResponses(functionTools(TOOL_NAMES.filter((n) => n !== 'run_code')))
    expect(replies).toHaveLength(showcaseSteps.length)
    expect(replies.at(-1)![0].content[0].text).toContain(
      'Skipped, because the agent was not given the tool: run_code',
    )
  })

  it('answers Chat Completions with tool_calls, then the summary', () => {
    const messages: any[] = [{ role: 'user', content: showcaseTask }]
    const names: string[] = []
    for (let i = 0; i < 20; i++) {
      const reply = chatReply({ messages: [...messages], tools: chatTools() })
      const message = reply.choices[0].message
      messages.push(message)
      if (!message.tool_calls) {
        expect(reply.choices[0].finish_reason).toBe('stop')
        expect(message.content).toBe(showcaseSummary)
        break
      }
      expect(reply.choices[0].finish_reason).toBe('tool_calls')
      for (const call of message.tool_calls) {
        names.push(call.function.name)
        messages.push({ role: 'tool', tool_call_id: call.id, content: 'ok' })
      }
    }
    expect(names).toEqual(showcaseSteps.map((s) => s.tool))
  })

  it('starts over for a new task in the same conversation, not for a user message right after a tool result', () => {
    const tools = functionTools()
    const outputs = showcaseSteps.map((_, i) => ({
      type: 'function_call_output',
      call_id: `c${i}`,
      output: 'ok',
    }))
    const answer = { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done' }] }
    const done = [{ role: 'user', content: 'first' }, ...outputs, answer]
    expect(toolOutputsSinceTask({ input: done })).toBe(showcaseSteps.length)
    expect(toolOutputsSinceTask({ input: [...done, { role: 'user', content: 'again' }] })).toBe(0)
    // some clients send a tool's image as a user message right after its result
    const image = { role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,' }] }
    expect(toolOutputsSinceTask({ input: [...done.slice(0, 3), image] })).toBe(2)
    expect(
      nextTurn({ input: [...done, { role: 'user', content: showcaseTask }], tools }).calls[0],
    ).toMatchObject({
      name: 'write_file',
    })
  })

  it('says it is scripted when asked something other than the showcase task', () => {
    const final = nextTurn({ input: [{ role: 'user', content: 'What is 2 + 2?' }], tools: [] })
    expect(final.calls).toEqual([])
    expect(final.say).toContain('scripted demo model')
    expect(offeredTools({ tools: [] }).functions.size).toBe(0)
  })

  it('streams the Responses API event sequence, ending with the whole response', () => {
    const output = responsesReply({ input: showcaseTask, tools: functionTools() }).output
    const events = responsesEvents(output)
    expect(events[0].type).toBe('response.created')
    expect(events.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { status: 'completed', output },
    })
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const args = events
      .filter((e) => e.type === 'response.function_call_arguments.delta')
      .map((e) => e.delta)
      .join('')
    expect(args).toBe(output[1].arguments)
    expect(events.filter((e) => e.type === 'response.output_item.done').map((e) => e.item)).toEqual(output)
  })
})

describe('real clients against the demo model on 127.0.0.1', () => {
  let model: DemoModel
  beforeAll(async () => {
    model = await startDemoModel()
  })
  afterAll(() => model?.close())

  /** AI SDK tools that answer every call with a canned result, recording the calls. */
  function recordingTools(calls: string[]) {
    return Object.fromEntries(
      TOOL_NAMES.map((name) => [
        name,
        tool({
          description: name,
          inputSchema: z.object({}).passthrough(),
          execute: async () => {
            calls.push(name)
            return `${name}: ok`
          },
        }),
      ]),
    )
  }

  it.each(['responses', 'chat'] as const)(
    '@ai-sdk/openai (%s, streaming) walks the showcase to the summary',
    async (api) => {
      const provider = createOpenAI({ baseURL: model.baseURL, apiKey: 'demo' })
      const calls: string[] = []
      const result = streamText({
        model: api === 'responses' ? provider.responses('demo-model') : provider.chat('demo-model'),
        prompt: showcaseTask,
        tools: recordingTools(calls),
        stopWhen: isStepCount(20),
      })
      const text = await result.text
      expect(calls).toEqual(showcaseSteps.map((s) => s.tool))
      expect(text).toContain(showcaseSummary)
    },
  )

  it('the OpenAI Agents SDK (Responses, streaming) gets native shell and apply_patch calls', async () => {
    const commands: string[][] = []
    const patches: string[] = []
    const functionCalls: string[] = []
    const shell: Shell = {
      async run(action) {
        commands.push(action.commands)
        return { output: [{ stdout: 'ok\n', stderr: '', outcome: { type: 'exit', exitCode: 0 } }] }
      },
    }
    const record = async (what: string): Promise<ApplyPatchResult> => {
      patches.push(what)
      return { status: 'completed', output: 'ok' }
    }
    const editor: Editor = {
      createFile: (op) => record(`create ${op.path}`),
      updateFile: (op) => record(`update ${op.path}`),
      deleteFile: (op) => record(`delete ${op.path}`),
    }
    const functions = TOOL_NAMES.filter((n) => n !== 'shell' && n !== 'apply_patch').map((name) =>
      agentsTool({
        name,
        description: name,
        parameters: { type: 'object', properties: {}, required: [], additionalProperties: true } as any,
        strict: false,
        execute: async () => {
          functionCalls.push(name)
          return 'ok'
        },
      }),
    )
    const agent = new Agent({
      name: 'demo',
      model: new OpenAIResponsesModel(new OpenAI({ baseURL: model.baseURL, apiKey: 'demo' }), 'demo-model'),
      tools: [shellTool({ shell }), applyPatchTool({ editor }), ...functions],
    })
    const result = await new Runner({ tracingDisabled: true }).run(agent, showcaseTask, {
      stream: true,
      maxTurns: 20,
    })
    for await (const _ of result) {
      // drain
    }
    await result.completed
    expect(commands).toEqual([['cd sales && python3 summary.py'], ['python3 summary.py']])
    expect(patches).toEqual(['update sales/summary.py'])
    expect(functionCalls).toEqual(['write_file', 'run_code', 'start_process', 'expose_port'])
    expect(result.finalOutput).toBe(showcaseSummary)
  })
})
