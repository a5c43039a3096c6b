/**
 * The playground's scripted demo model: a provider-shaped server on 127.0.0.1 that speaks the OpenAI
 * Responses API (`POST /v1/responses`) and Chat Completions (`POST /v1/chat/completions`), streaming
 * (SSE) and not, and walks through the showcase task of ../demo/showcase.ts whatever it is asked.
 *
 * Each request gets the next step: the model's sentence and the step's tool call — a `function_call`
 * (a Chat Completions `tool_calls` entry), or the Responses API's native `shell_call` /
 * `apply_patch_call` when the request offers `{type:'shell'}` / `{type:'apply_patch'}` — and, once
 * every step has been answered, a final assistant message with the showcase summary. The step is
 * worked out from the request alone (the number of tool outputs since the user's last message), so
 * the model is stateless and any number of runs can share it.
 *
 * No API key is checked and nothing leaves 127.0.0.1.
 *
 *   const model = await startDemoModel()
 *   // OPENAI_BASE_URL=model.baseURL OPENAI_API_KEY=demo OPENAI_MODEL=demo-model
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parsePatch } from '../../src/patch.js'
import { type ShowcaseStep, showcaseSteps, showcaseSummary, showcaseTask } from '../demo/showcase.js'

export const DEMO_MODEL_ID = 'demo-model'

/** One tool call as the demo model will make it. */
export type DemoCall =
  | { kind: 'function'; name: string; arguments: Record<string, unknown> }
  | { kind: 'shell'; commands: string[]; timeoutMs: number | null }
  | { kind: 'apply_patch'; operation: ApplyPatchOperation }

export type ApplyPatchOperation =
  | { type: 'create_file'; path: string; diff: string }
  | { type: 'update_file'; path: string; diff: string; move_to?: string }
  | { type: 'delete_file'; path: string }

/** One model turn: what it says, then its tool calls (none for the final answer). */
export interface DemoTurn {
  say: string
  calls: DemoCall[]
}

/** The tools a request offers, as the demo model sees them. */
export interface OfferedTools {
  functions: Set<string>
  nativeShell: boolean
  nativeApplyPatch: boolean
}

export interface DemoScript {
  steps: readonly ShowcaseStep[]
  summary: string
  task: string
}

const defaultScript: DemoScript = { steps: showcaseSteps, summary: showcaseSummary, task: showcaseTask }

/** The tools offered by a Responses API or Chat Completions request body. */
export function offeredTools(body: any): OfferedTools {
  const offered: OfferedTools = { functions: new Set(), nativeShell: false, nativeApplyPatch: false }
  for (const tool of Array.isArray(body?.tools) ? body.tools : []) {
    if (tool?.type === 'function') {
      const name = tool.name ?? tool.function?.name
      if (typeof name === 'string') offered.functions.add(name)
    } else if (tool?.type === 'shell' || tool?.type === 'local_shell') {
      offered.nativeShell = true
    } else if (tool?.type === 'apply_patch') {
      offered.nativeApplyPatch = true
    }
  }
  return offered
}

/**
 * The showcase as turns for these tools. A step whose tool is not offered in any form is left out
 * (and named in the final answer), so the demo never calls a tool the agent does not have.
 */
export function planTurns(offered: OfferedTools, script: DemoScript = defaultScript): DemoTurn[] {
  const turns: DemoTurn[] = []
  const skipped: string[] = []
  for (const step of script.steps) {
    const calls = callsFor(step, offered)
    if (calls) turns.push({ say: step.say, calls })
    else skipped.push(step.tool)
  }
  const note = skipped.length
    ? ` (Skipped, because the agent was not given the tool: ${[...new Set(skipped)].join(', ')}.)`
    : ''
  turns.push({ say: script.summary + note, calls: [] })
  return turns
}

function callsFor(step: ShowcaseStep, offered: OfferedTools): DemoCall[] | undefined {
  const input = step.input
  if (step.tool === 'shell' && offered.nativeShell) {
    const timeout = typeof input.timeout_ms === 'number' ? input.timeout_ms : null
    return [{ kind: 'shell', commands: [String(input.command)], timeoutMs: timeout }]
  }
  if (step.tool === 'apply_patch' && offered.nativeApplyPatch) {
    return parsePatch(String(input.patch)).map((op) => ({
      kind: 'apply_patch',
      operation: nativeOperation(op),
    }))
  }
  if (offered.functions.has(step.tool)) return [{ kind: 'function', name: step.tool, arguments: input }]
  if (step.tool === 'write_file' && offered.nativeApplyPatch) {
    const content = String(input.content)
    return [
      {
        kind: 'apply_patch',
        operation: { type: 'create_file', path: String(input.path), diff: plus(content) },
      },
    ]
  }
  return undefined
}

function nativeOperation(op: ReturnType<typeof parsePatch>[number]): ApplyPatchOperation {
  switch (op.type) {
    case 'add':
      return { type: 'create_file', path: op.path, diff: plus(op.content) }
    case 'delete':
      return { type: 'delete_file', path: op.path }
    case 'update':
      return op.moveTo
        ? { type: 'update_file', path: op.path, diff: op.diff, move_to: op.moveTo }
        : { type: 'update_file', path: op.path, diff: op.diff }
  }
}

/** A file's content as a create diff: every line prefixed with `+`. */
function plus(content: string): string {
  const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n')
  return `${lines.map((line) => `+${line}`).join('\n')}\n`
}

// ------------------------------------------------------------------ where are we

const isToolOutput = (item: any): boolean =>
  typeof item?.type === 'string' && item.type.endsWith('_call_output')
const isUserMessage = (item: any): boolean =>
  item?.role === 'user' && (item.type === undefined || item.type === 'message')

/**
 * How many tool outputs a request carries since the user's last message. A user message right after
 * a tool output (some clients send tool images that way) does not start a new task.
 */
export function toolOutputsSinceTask(body: any): number {
  const items: any[] = Array.isArray(body?.input)
    ? body.input
    : Array.isArray(body?.messages)
      ? body.messages
      : []
  let count = 0
  let previous: any
  for (const item of items) {
    const output = isToolOutput(item) || item?.role === 'tool'
    if (output) count++
    else if (isUserMessage(item) && !(previous && (isToolOutput(previous) || previous.role === 'tool')))
      count = 0
    previous = item
  }
  return count
}

/** The text of the user's last message, if any (`input` may be a plain string). */
export function lastUserText(body: any): string {
  if (typeof body?.input === 'string') return body.input
  const items: any[] = Array.isArray(body?.input)
    ? body.input
    : Array.isArray(body?.messages)
      ? body.messages
      : []
  const user = items.filter(isUserMessage).at(-1)
  if (!user) return ''
  if (typeof user.content === 'string') return user.content
  if (Array.isArray(user.content)) {
    return user.content
      .map((part: any) => (typeof part?.text === 'string' ? part.text : ''))
      .join('')
      .trim()
  }
  return ''
}

/** The turn that answers this request: the first turn whose calls are not all answered yet. */
export function nextTurn(body: any, script: DemoScript = defaultScript): DemoTurn {
  const turns = planTurns(offeredTools(body), script)
  let answered = toolOutputsSinceTask(body)
  for (const turn of turns) {
    if (turn.calls.length === 0 || answered < turn.calls.length) return finalize(turn, body, script)
    answered -= turn.calls.length
  }
  return finalize(turns.at(-1)!, body, script)
}

function finalize(turn: DemoTurn, body: any, script: DemoScript): DemoTurn {
  if (turn.calls.length > 0) return turn
  const asked = lastUserText(body).trim()
  const note =
    asked && asked !== script.task.trim()
      ? '\n\n(This is the scripted demo model: it runs the showcase task whatever it is asked. Set OPENAI_API_KEY for a real model.)'
      : ''
  return { say: turn.say + note, calls: [] }
}

// ------------------------------------------------------------------ wire formats

const id = (prefix: string) => `${prefix}_demo${randomBytes(6).toString('hex')}`

/** The Responses API output items of a turn. */
export function responsesOutput(turn: DemoTurn): any[] {
  const items: any[] = []
  if (turn.say) {
    items.push({
      type: 'message',
      id: id('msg'),
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: turn.say, annotations: [], logprobs: [] }],
    })
  }
  for (const call of turn.calls) {
    const callId = id('call')
    if (call.kind === 'function') {
      items.push({
        type: 'function_call',
        id: id('fc'),
        call_id: callId,
        name: call.name,
        arguments: JSON.stringify(call.arguments),
        status: 'completed',
      })
    } else if (call.kind === 'shell') {
      items.push({
        type: 'shell_call',
        id: id('sh'),
        call_id: callId,
        status: 'completed',
        action: { commands: call.commands, timeout_ms: call.timeoutMs, max_output_length: null },
      })
    } else {
      items.push({
        type: 'apply_patch_call',
        id: id('ap'),
        call_id: callId,
        status: 'completed',
        operation: call.operation,
      })
    }
  }
  return items
}

const usage = {
  input_tokens: 1,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 1,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 2,
}

/** A complete (non-streaming) Responses API reply to this request. */
export function responsesReply(body: any, script: DemoScript = defaultScript): any {
  return responseObject(responsesOutput(nextTurn(body, script)), 'completed')
}

function responseObject(output: any[], status: 'in_progress' | 'completed'): any {
  return {
    id: id('resp'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model: DEMO_MODEL_ID,
    status,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    error: null,
    incomplete_details: null,
    usage: status === 'completed' ? usage : null,
  }
}

/** The Responses API stream events (SSE `data:` payloads) of a reply with these output items. */
export function responsesEvents(output: any[]): any[] {
  const events: any[] = []
  const response = responseObject([], 'in_progress')
  const push = (event: any) => events.push({ ...event, sequence_number: events.length })
  push({ type: 'response.created', response })
  push({ type: 'response.in_progress', response })
  output.forEach((item, index) => {
    if (item.type === 'message') {
      const part = item.content[0]
      push({
        type: 'response.output_item.added',
        output_index: index,
        item: { ...item, status: 'in_progress', content: [] },
      })
      const base = { item_id: item.id, output_index: index, content_index: 0 }
      push({ type: 'response.content_part.added', ...base, part: { ...part, text: '' } })
      for (const delta of chunks(part.text))
        push({ type: 'response.output_text.delta', ...base, delta, logprobs: [] })
      push({ type: 'response.output_text.done', ...base, text: part.text, logprobs: [] })
      push({ type: 'response.content_part.done', ...base, part })
    } else if (item.type === 'function_call') {
      push({
        type: 'response.output_item.added',
        output_index: index,
        item: { ...item, arguments: '', status: 'in_progress' },
      })
      const base = { item_id: item.id, output_index: index }
      for (const delta of chunks(item.arguments))
        push({ type: 'response.function_call_arguments.delta', ...base, delta })
      push({
        type: 'response.function_call_arguments.done',
        ...base,
        name: item.name,
        arguments: item.arguments,
      })
    } else {
      push({
        type: 'response.output_item.added',
        output_index: index,
        item: { ...item, status: 'in_progress' },
      })
    }
    push({ type: 'response.output_item.done', output_index: index, item })
  })
  push({ type: 'response.completed', response: { ...response, status: 'completed', output, usage } })
  return events
}

/** A Chat Completions assistant message for a turn (native tools do not exist there). */
export function chatMessage(turn: DemoTurn): any {
  const calls = turn.calls.flatMap((call) =>
    call.kind === 'function'
      ? [
          {
            id: id('call'),
            type: 'function',
            function: { name: call.name, arguments: JSON.stringify(call.arguments) },
          },
        ]
      : [],
  )
  return { role: 'assistant', content: turn.say || null, ...(calls.length ? { tool_calls: calls } : {}) }
}

/** A complete (non-streaming) Chat Completions reply to this request. */
export function chatReply(body: any, script: DemoScript = defaultScript): any {
  return chatCompletion(chatMessage(nextTurn(body, script)))
}

function chatCompletion(message: any): any {
  return {
    id: id('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: DEMO_MODEL_ID,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  }
}

/** The Chat Completions stream chunks of a reply. */
export function chatChunks(message: any, includeUsage: boolean): any[] {
  const base = {
    id: id('chatcmpl'),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: DEMO_MODEL_ID,
  }
  const chunk = (delta: any, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  })
  const out: any[] = [chunk({ role: 'assistant', content: '' })]
  for (const delta of chunks(message.content ?? '')) out.push(chunk({ content: delta }))
  ;(message.tool_calls ?? []).forEach((call: any, index: number) => {
    out.push(
      chunk({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
        ],
      }),
    )
    for (const delta of chunks(call.function.arguments)) {
      out.push(chunk({ tool_calls: [{ index, function: { arguments: delta } }] }))
    }
  })
  out.push(chunk({}, message.tool_calls ? 'tool_calls' : 'stop'))
  if (includeUsage)
    out.push({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })
  return out
}

/** Text in pieces of about 40 characters, as a model streams it. */
function chunks(text: string): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += 40) out.push(text.slice(i, i + 40))
  return out.length ? out : ['']
}

// ------------------------------------------------------------------ the server

export interface DemoModelOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** A pause before each reply, to look like a model thinking. Default 0. */
  delayMs?: number
  script?: DemoScript
}

export interface DemoModel {
  /** `http://127.0.0.1:PORT/v1`: the OpenAI base URL to give a client. */
  baseURL: string
  port: number
  /** How many model requests were answered. */
  readonly requests: number
  close(): Promise<void>
}

export async function startDemoModel(options: DemoModelOptions = {}): Promise<DemoModel> {
  const script = options.script ?? defaultScript
  let requests = 0
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `demo model: ${(error as Error)?.message ?? error}`)
      else res.destroy()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/v1(?=\/)/, '')
    if (req.method === 'GET' && path === '/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: DEMO_MODEL_ID, object: 'model', created: 0, owned_by: 'demo' }],
      })
    }
    if (req.method !== 'POST' || (path !== '/responses' && path !== '/chat/completions')) {
      req.resume()
      return sendError(res, 404, `demo model: no route ${req.method} ${req.url}`)
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: any
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      return sendError(res, 400, 'demo model: the request body is not JSON')
    }
    requests++
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
    if (path === '/responses') {
      const output = responsesOutput(nextTurn(body, script))
      if (body.stream) return sendEvents(res, responsesEvents(output), true)
      return sendJson(res, 200, responseObject(output, 'completed'))
    }
    const message = chatMessage(nextTurn(body, script))
    if (body.stream)
      return sendEvents(res, chatChunks(message, body.stream_options?.include_usage === true), false)
    return sendJson(res, 200, chatCompletion(message))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    get requests() {
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code: null } })
}

function sendEvents(res: ServerResponse, events: any[], named: boolean): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  for (const event of events) {
    res.write(`${named ? `event: ${event.type}\n` : ''}data: ${JSON.stringify(event)}\n\n`)
  }
  if (!named) res.write('data: [DONE]\n\n')
  res.end()
}
