/**
 * The Worker behind the agents tests: agents written the way an app would write them with
 * `withSandbox()`, plus LocalSandboxDO for the `Sandbox` binding (test/agents/wrangler.jsonc).
 *
 * - Coder: `withSandbox(Agent<Env, State>)` with the defaults; it mirrors status changes into its own
 *   state through `onSandboxStatus`, the way an app that wants the status in `state` would.
 * - IdleCoder: a one-second idle timeout, for the idle tests.
 * - CustomCoder: its own id function, workdir and output limits; no idle timeout.
 * - ChatCoder: `withSandbox(AIChatAgent<Env>)` answering with the AI SDK tools on `this.sandbox`,
 *   driven by a scripted model (`MockLanguageModelV4`).
 */
import { AIChatAgent } from '@cloudflare/ai-chat'
import { Agent, routeAgentRequest } from 'agents'
import { convertToModelMessages, isStepCount, streamText, type UIMessage } from 'ai'
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test'
import { type SandboxAgentState, type SandboxStatus, withSandbox } from '../../adapters/agents/index.js'
import { sandboxTools } from '../../adapters/ai/index.js'
import type { LocalSandboxDO } from '../../src/local/worker.js'
import type { SandboxSession } from '../../src/session.js'

export { LocalSandboxDO } from '../../src/local/worker.js'

export interface Env {
  Sandbox: DurableObjectNamespace<LocalSandboxDO>
  Coder: DurableObjectNamespace<Coder>
  IdleCoder: DurableObjectNamespace<IdleCoder>
  CustomCoder: DurableObjectNamespace<CustomCoder>
  ChatCoder: DurableObjectNamespace<ChatCoder>
  LOCAL_SANDBOX_URL: string
  LOCAL_SANDBOX_TOKEN: string
}

export interface RunResult {
  exitCode: number | null
  stdout: string
  stderr: string
  cwd: string
}

/** The RPC methods the tests call on every test agent (each a thin use of `this.sandbox`). */
const methods = {
  async run(sandbox: SandboxSession, command: string): Promise<RunResult> {
    const result = await sandbox.exec(command)
    return {
      exitCode: result.exitCode,
      stdout: result.stdout.text,
      stderr: result.stderr.text,
      cwd: result.cwd,
    }
  },
  async code(sandbox: SandboxSession, code: string): Promise<string | undefined> {
    const result = await sandbox.runCode(code)
    return result.error ? `${result.error.name}: ${result.error.message}` : result.results[0]?.text
  },
  async background(sandbox: SandboxSession, command: string, name: string): Promise<string> {
    return (await sandbox.startProcess(command, { processId: name })).id
  },
}

export class Coder extends withSandbox(Agent<Env, { statuses: SandboxStatus[] }>) {
  override initialState = { statuses: [] as SandboxStatus[] }

  override onSandboxStatus(status: SandboxStatus): void {
    this.setState({ statuses: [...this.state.statuses, status] })
  }

  /** Touches `this.sandbox` without an operation. */
  peek(): { status: SandboxStatus; started: boolean; state: SandboxAgentState } {
    return { status: this.sandboxStatus, started: this.sandbox.started, state: this.sandboxState }
  }

  state_(): SandboxAgentState {
    return this.sandboxState
  }

  run(command: string) {
    return methods.run(this.sandbox, command)
  }
  code(code: string) {
    return methods.code(this.sandbox, code)
  }
  background(command: string, name: string) {
    return methods.background(this.sandbox, command, name)
  }
  async expose(port: number): Promise<string> {
    return (await this.sandbox.exposePort(port)).url
  }
  async write(path: string, content: string): Promise<void> {
    await this.sandbox.writeFile(path, content)
  }
  async read(path: string): Promise<string> {
    return (await this.sandbox.readFile(path)).content
  }
  /** Idle-schedule rows in the agent's schedule. */
  idleSchedules(): { id: string; time: number }[] {
    return this.getSchedules()
      .filter((s) => s.callback === 'sandboxIdleCheck')
      .map((s) => ({ id: s.id, time: s.time }))
  }
}

export class IdleCoder extends withSandbox(Agent<Env>, { idleTimeout: 1 }) {
  peek(): { status: SandboxStatus; state: SandboxAgentState } {
    return { status: this.sandboxStatus, state: this.sandboxState }
  }
  run(command: string) {
    return methods.run(this.sandbox, command)
  }
  idleSchedules(): { id: string; time: number }[] {
    return this.getSchedules()
      .filter((s) => s.callback === 'sandboxIdleCheck')
      .map((s) => ({ id: s.id, time: s.time }))
  }
}

export class CustomCoder extends withSandbox(Agent<Env>, {
  id: (name) => `custom-${name}`,
  workdir: '/workspace/project',
  idleTimeout: false,
  output: { maxBytes: 2048 },
}) {
  peek(): { status: SandboxStatus; state: SandboxAgentState; workdir: string } {
    return { status: this.sandboxStatus, state: this.sandboxState, workdir: this.sandbox.workdir }
  }
  run(command: string) {
    return methods.run(this.sandbox, command)
  }
  idleSchedules(): number {
    return this.getSchedules().filter((s) => s.callback === 'sandboxIdleCheck').length
  }
}

// ------------------------------------------------------------------ the chat agent and its model

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
}

/**
 * A scripted model: a user message is a JSON list of tool calls (`[{ "tool": "shell", "input": {…} }]`)
 * that the model makes in one step; once the tool results are in, it answers with their text, one
 * per line — so the test sees exactly what the model was shown.
 */
function scriptedModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: async ({ prompt }) => {
      const last = prompt.at(-1)
      if (last?.role === 'user') {
        const text = last.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
        const calls = JSON.parse(text) as { tool: string; input: unknown }[]
        return {
          stream: convertArrayToReadableStream<any>([
            { type: 'stream-start', warnings: [] },
            ...calls.map((call, i) => ({
              type: 'tool-call',
              toolCallId: `call-${crypto.randomUUID().slice(0, 8)}-${i}`,
              toolName: call.tool,
              input: JSON.stringify(call.input),
            })),
            { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage },
          ]),
        }
      }
      const results =
        last?.role === 'tool'
          ? last.content.map((part) => {
              if (part.type !== 'tool-result') return ''
              const output = part.output as { type: string; value: unknown }
              if (output.type === 'text' || output.type === 'error-text') return String(output.value)
              if (output.type === 'content') {
                return (output.value as { type: string; text?: string }[])
                  .map((p) => (p.type === 'text' ? p.text : ''))
                  .join('')
              }
              return JSON.stringify(output.value)
            })
          : ['(nothing to do)']
      return {
        stream: convertArrayToReadableStream<any>([
          { type: 'stream-start', warnings: [] },
          { type: 'text-start', id: 't1' },
          { type: 'text-delta', id: 't1', delta: results.join('\n') },
          { type: 'text-end', id: 't1' },
          { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
        ]),
      }
    },
  })
}

export class ChatCoder extends withSandbox(AIChatAgent<Env>) {
  override async onChatMessage(
    _onFinish: unknown,
    options?: { abortSignal?: AbortSignal },
  ): Promise<Response | undefined> {
    const result = streamText({
      model: scriptedModel(),
      system: 'You are a coding agent with a sandbox.',
      messages: await convertToModelMessages(this.messages),
      tools: sandboxTools(this.sandbox),
      stopWhen: isStepCount(5),
      ...(options?.abortSignal ? { abortSignal: options.abortSignal } : {}),
    })
    return result.toUIMessageStreamResponse()
  }

  peek(): { status: SandboxStatus; state: SandboxAgentState } {
    return { status: this.sandboxStatus, state: this.sandboxState }
  }

  history(): UIMessage[] {
    return this.messages
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return (await routeAgentRequest(request, env)) ?? new Response('not found', { status: 404 })
  },
} satisfies ExportedHandler<Env>
