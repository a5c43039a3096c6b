/**
 * A full chat turn: `withSandbox(AIChatAgent)` answering with the AI SDK tools on `this.sandbox`,
 * the model scripted with `MockLanguageModelV4` (test/agents/entry.ts), the tools running for real —
 * and a later turn, after the agent was evicted, continuing in the same directory with the same
 * variables. A client connected over WebSocket sees the sandbox status broadcasts.
 */
import { evictDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { getAgentByName } from 'agents'
import type { UIMessage } from 'ai'
import { describe, expect, it } from 'vitest'
import type { SandboxStatusMessage } from '../../adapters/agents/index.js'
import { directSandbox, newName, until } from './helpers.js'

function userMessage(calls: { tool: string; input: unknown }[]): UIMessage {
  return {
    id: `user-${crypto.randomUUID()}`,
    role: 'user',
    parts: [{ type: 'text', text: JSON.stringify(calls) }],
  }
}

type ToolPart = { type: string; state: string; input: unknown; output: { text: string } }

function lastAssistant(messages: UIMessage[]): { tools: ToolPart[]; text: string } {
  const message = messages.at(-1)
  expect(message?.role).toBe('assistant')
  const parts = message?.parts ?? []
  return {
    tools: parts.filter((p) => p.type.startsWith('tool-')) as unknown as ToolPart[],
    text: parts
      .filter((p) => p.type === 'text')
      .map((p) => (p as { text: string }).text)
      .join(''),
  }
}

describe('withSandbox(AIChatAgent): a chat turn with the sandbox tools', () => {
  it('runs the model’s tool calls in the agent’s sandbox and continues after an eviction', async () => {
    const name = newName('chat')
    // a client of the agent, to see the status broadcasts
    const upgrade = await exports.default.fetch(`http://example.com/agents/chat-coder/${name}`, {
      headers: { Upgrade: 'websocket' },
    })
    const socket = upgrade.webSocket!
    socket.accept()
    const statuses: SandboxStatusMessage[] = []
    socket.addEventListener('message', (event) => {
      const data = typeof event.data === 'string' ? JSON.parse(event.data) : undefined
      if (data?.type === 'sandbox-status') statuses.push(data)
    })

    const agent = await getAgentByName(env.ChatCoder, name)
    expect((await agent.peek()).status).toBe('not-started')

    const turn1 = await agent.saveMessages([
      userMessage([
        {
          tool: 'shell',
          input: {
            command: 'mkdir -p app && cd app && printf "print(6 * 7)\\n" > main.py && export RUN=python3',
          },
        },
        { tool: 'read_file', input: { path: 'app/main.py' } },
        { tool: 'list_files', input: { path: 'app' } },
      ]),
    ])
    expect(turn1.status).toBe('completed')
    const first = lastAssistant(await agent.history())
    expect(first.tools.map((p) => [p.type, p.state])).toEqual([
      ['tool-shell', 'output-available'],
      ['tool-read_file', 'output-available'],
      ['tool-list_files', 'output-available'],
    ])
    expect(first.tools[1]!.output.text).toContain('print(6 * 7)')
    expect(first.tools[2]!.output.text).toContain('main.py')
    // the model was shown the tool results (it echoes them)
    expect(first.text).toContain('print(6 * 7)')
    // the file is really in the agent's sandbox
    expect((await directSandbox(name).readFile('/workspace/app/main.py')).content).toBe('print(6 * 7)\n')

    await until(async () => statuses.length >= 2, 'the status broadcasts arrive')
    expect(statuses.map((s) => s.status)).toEqual(['starting', 'ready'])
    expect(statuses[1]).toMatchObject({ type: 'sandbox-status', sandboxId: name, at: expect.any(Number) })
    socket.close()

    // the agent hibernates; the next turn picks up in app/ with RUN still exported
    await evictDurableObject(agent)
    const again = await getAgentByName(env.ChatCoder, name)
    const turn2 = await again.saveMessages([
      ...(await again.history()),
      userMessage([{ tool: 'shell', input: { command: '$RUN main.py && pwd' } }]),
    ])
    expect(turn2.status).toBe('completed')
    const second = lastAssistant(await again.history())
    expect(second.tools).toHaveLength(1)
    expect(second.tools[0]!.output.text).toMatch(/42\n\/workspace\/app\n/)
    expect(second.text).toMatch(/42\n\/workspace\/app/)
    expect((await again.peek()).status).toBe('ready')
  })
})
