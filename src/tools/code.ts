import { z } from 'zod'
import type { ExecutionResult } from '../backend.js'
import { shapeText, stripAnsi } from '../output.js'
import { defineTool, limitsFor } from './define.js'
import type { ToolImage } from './types.js'

export const runCodeInput = z.object({
  code: z.string().min(1, 'code must not be empty').describe('The code to run.'),
  language: z
    .enum(['python', 'javascript'])
    .optional()
    .describe('python (default) or javascript. Each language keeps one persistent context.'),
})

/** Formats an execution result for a model: output, value, error with traceback; charts as images. */
export function formatExecution(
  result: ExecutionResult,
  maxBytes: number,
): { text: string; images: ToolImage[] } {
  const parts: string[] = []
  const images: ToolImage[] = []
  const stdout = result.logs.stdout.join('')
  const stderr = result.logs.stderr.join('')
  if (stdout) parts.push(stdout.replace(/\n$/, ''))
  if (stderr) parts.push(`[stderr]\n${stderr.replace(/\n$/, '')}`)
  for (const r of result.results) {
    if (r.png) images.push({ data: r.png, mediaType: 'image/png' })
    else if (r.jpeg) images.push({ data: r.jpeg, mediaType: 'image/jpeg' })
    if (r.text !== undefined) parts.push(r.png || r.jpeg ? `[image] ${r.text}` : r.text)
    else if (r.png || r.jpeg) parts.push('[image]')
    else if (r.json !== undefined) parts.push(JSON.stringify(r.json))
    else if (r.markdown) parts.push(r.markdown)
    else if (r.html) parts.push(`[html output, ${r.html.length} chars]`)
  }
  if (result.error) {
    const traceback = result.error.traceback.map(stripAnsi).join('\n').trim()
    parts.push(`[error] ${result.error.name}: ${result.error.message}${traceback ? `\n${traceback}` : ''}`)
  }
  if (parts.length === 0) parts.push('(no output)')
  return { text: shapeText(parts.join('\n'), { maxBytes }).text, images }
}

export const runCode = defineTool({
  name: 'run_code',
  description:
    'Run Python or JavaScript in a persistent interpreter (variables, imports and functions survive between ' +
    'calls, like a notebook). The value of the last expression is returned; printed output is captured; ' +
    'matplotlib charts come back as images; errors come back with their traceback.',
  inputSchema: runCodeInput,
  readOnly: false,
  async run(session, input, ctx) {
    const limits = limitsFor(session, ctx)
    const result = await session.runCode(input.code, {
      language: input.language ?? 'python',
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    })
    const { text, images } = formatExecution(result, limits.maxBytes)
    return { text, ...(images.length ? { images } : {}), data: result }
  },
})
