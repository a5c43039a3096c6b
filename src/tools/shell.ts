import { z } from 'zod'
import { shapeText } from '../output.js'
import type { CommandResult } from '../session.js'
import { defineTool, limitsFor } from './define.js'

export const shellInput = z.object({
  command: z
    .string()
    .min(1, 'command must not be empty')
    .describe('The bash command line to run, e.g. "ls -la" or "cd src && npm test".'),
  timeout_ms: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Kill the command after this many milliseconds (default 120000).'),
})

/** Formats a command result for a model: output, stderr, exit code, cwd, all within `maxBytes`. */
export function formatCommandResult(result: CommandResult, maxBytes: number): string {
  const status = result.timedOut
    ? `[timed out after ${result.durationMs} ms; killed]`
    : `[exit code: ${result.exitCode ?? 'unknown'}]`
  const footer = [status, `[cwd: ${result.cwd}]`]
  if (result.fullOutputPath) {
    footer.push(
      `[output was cut; the full output is in ${result.fullOutputPath} — page through it with read_file]`,
    )
  }
  const footerText = footer.join(' ')
  const budget = Math.max(256, maxBytes - footerText.length - 16)
  return `${joinStreams(result.stdout.text, result.stderr.text, budget) || '(no output)'}\n${footerText}`
}

/** stdout, then stderr under a `[stderr]` heading, fitted into `budget` bytes. */
export function joinStreams(stdoutText: string, stderrText: string, budget: number): string {
  const { stdout, stderr } = fitStreams(stdoutText, stderrText, budget)
  const parts: string[] = []
  if (stdout) parts.push(stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout)
  if (stderr) parts.push(`[stderr]\n${stderr.endsWith('\n') ? stderr.slice(0, -1) : stderr}`)
  return parts.join('\n')
}

/** Splits a byte budget between stdout and stderr: stderr (where errors are) gets up to a third. */
export function fitStreams(
  stdout: string,
  stderr: string,
  budget: number,
): { stdout: string; stderr: string } {
  const enc = new TextEncoder()
  const outBytes = enc.encode(stdout).length
  const errBytes = enc.encode(stderr).length
  if (outBytes + errBytes <= budget) return { stdout, stderr }
  const errBudget = Math.min(errBytes, Math.max(Math.floor(budget / 3), budget - outBytes))
  const outBudget = budget - errBudget
  return {
    stdout: outBytes > outBudget ? shapeText(stdout, { maxBytes: outBudget }).text : stdout,
    stderr: errBytes > errBudget ? shapeText(stderr, { maxBytes: errBudget }).text : stderr,
  }
}

export const shell = defineTool({
  name: 'shell',
  description:
    'Run a bash command line in the sandbox (Linux, working directory /workspace). The working directory ' +
    'and exported variables carry over between calls (`cd src` holds for the next call). Output is capped: ' +
    'long output keeps its beginning, its end and any error lines, and the full output is saved to a file you ' +
    'can read. Commands are killed after timeout_ms (default 2 minutes), and background jobs (`&`) end with ' +
    'the command: use start_process for servers and other long-running jobs. Returns stdout, stderr and the ' +
    'exit code.',
  inputSchema: shellInput,
  readOnly: false,
  async run(session, input, ctx) {
    const limits = limitsFor(session, ctx)
    const result = await session.exec(input.command, {
      ...(input.timeout_ms !== undefined ? { timeoutMs: input.timeout_ms } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      output: limits,
      ...(ctx.onProgress
        ? {
            onProgress: (p: { stdout: string; stderr: string }) =>
              ctx.onProgress?.(joinStreams(p.stdout, p.stderr, limits.maxBytes)),
          }
        : {}),
    })
    return { text: formatCommandResult(result, limits.maxBytes), data: result }
  },
})
