import { z } from 'zod'
import type { ProcessInfo } from '../backend.js'
import { errorCode, SandboxToolError } from '../errors.js'
import type { SandboxSession } from '../session.js'
import { defineTool, limitsFor } from './define.js'
import { joinStreams } from './shell.js'

const processId = z
  .string()
  .min(1, 'id must not be empty')
  .describe('The process id that start_process returned.')

export const startProcessInput = z.object({
  command: z
    .string()
    .min(1, 'command must not be empty')
    .describe('The command line to run in the background.'),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'name may only contain letters, digits, "_" and "-" (at most 64)')
    .optional()
    .describe('A short id for the process, e.g. "web" (default: generated).'),
})

async function describeProcess(
  session: SandboxSession,
  id: string,
  maxBytes: number,
): Promise<{ text: string; info: ProcessInfo }> {
  const info = await session.getProcess(id)
  if (!info) throw await unknownProcess(session, id)
  const logs = await session.processLogs(id)
  const status =
    info.status === 'running' || info.status === 'starting'
      ? `running (pid ${info.pid ?? '?'})`
      : `${info.status}${info.exitCode !== undefined ? ` with exit code ${info.exitCode}` : ''}`
  const header = `Process ${id}: ${status}\n$ ${info.command}`
  const output = joinStreams(logs.stdout, logs.stderr, Math.max(256, maxBytes - header.length - 64))
  return { text: `${header}\n${output || '(no output yet)'}`, info }
}

async function unknownProcess(session: SandboxSession, id: string): Promise<SandboxToolError> {
  const known = await session.listProcesses().catch(() => [] as ProcessInfo[])
  const list = known.map((p) => `${p.id} (${p.status}): ${p.command}`).slice(0, 20)
  return new SandboxToolError('PROCESS_NOT_FOUND', `No process with id ${JSON.stringify(id)}.`, {
    hint: list.length
      ? `Known processes:\n${list.join('\n')}`
      : 'No processes have been started; use start_process.',
  })
}

export const startProcess = defineTool({
  name: 'start_process',
  description:
    'Start a long-running command in the background (a web server, a watcher, a long build) and return its ' +
    'id right away, with its first output. Use process_output to check on it, stop_process to stop it and ' +
    'expose_port to get a URL for a server.',
  inputSchema: startProcessInput,
  readOnly: false,
  async run(session, input, ctx) {
    const limits = limitsFor(session, ctx)
    const started = await session.startProcess(input.command, input.name ? { processId: input.name } : {})
    // a short look so an immediate crash (missing binary, syntax error) is seen in this turn
    await new Promise((resolve) => setTimeout(resolve, 300))
    const { text, info } = await describeProcess(session, started.id, limits.maxBytes)
    return {
      text: `${text}\nCheck it with process_output, stop it with stop_process (id ${started.id}).`,
      data: info,
    }
  },
})

export const processOutput = defineTool({
  name: 'process_output',
  description:
    'Show the status and the output so far (start and end kept when long) of a background process.',
  inputSchema: z.object({ id: processId }),
  readOnly: true,
  async run(session, input, ctx) {
    const { text, info } = await describeProcess(session, input.id, limitsFor(session, ctx).maxBytes)
    return { text, data: info }
  },
})

export const stopProcess = defineTool({
  name: 'stop_process',
  description: 'Stop a background process (and its child processes).',
  inputSchema: z.object({ id: processId }),
  readOnly: false,
  async run(session, input) {
    try {
      await session.killProcess(input.id)
    } catch (error) {
      if (errorCode(error) === 'PROCESS_NOT_FOUND') throw await unknownProcess(session, input.id)
      throw error
    }
    const info = await session.getProcess(input.id)
    return { text: `Stopped process ${input.id}${info ? ` (${info.status})` : ''}.`, data: info }
  },
})

export const exposePortInput = z.object({
  port: z
    .number()
    .int()
    .min(1024, 'port must be between 1024 and 65535')
    .max(65535, 'port must be between 1024 and 65535')
    .refine((p) => p !== 3000, 'port 3000 is reserved by the sandbox; use another port')
    .describe('The port a server in the sandbox listens on (1024-65535, not 3000).'),
})

export const exposePort = defineTool({
  name: 'expose_port',
  description:
    'Get a URL that reaches a server listening on a port inside the sandbox (start the server first with ' +
    'start_process, listening on 0.0.0.0).',
  inputSchema: exposePortInput,
  readOnly: false,
  async run(session, input) {
    const { url, port } = await session.exposePort(input.port)
    return { text: `Port ${port} is reachable at ${url}`, data: { url, port } }
  },
})
