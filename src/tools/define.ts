import type { z } from 'zod'
import { describeError, ToolInputError } from '../errors.js'
import { DEFAULT_MAX_BYTES, type OutputLimits } from '../output.js'
import type { SandboxSession } from '../session.js'
import type { ApprovalPolicy, ToolContext, ToolName, ToolOutput, ToolSpec } from './types.js'

/** Declares a tool spec with its input type inferred from the schema. */
export function defineTool<S extends z.ZodType>(spec: {
  name: ToolName
  description: string
  inputSchema: S
  readOnly: boolean
  run(session: SandboxSession, input: z.output<S>, ctx: ToolContext): Promise<ToolOutput>
}): ToolSpec<z.output<S>> {
  return spec as ToolSpec<z.output<S>>
}

/**
 * Validates raw input from a model against the tool's schema. Throws a ToolInputError naming each
 * bad field and the expected form.
 */
export function parseToolInput<I>(spec: ToolSpec<I>, input: unknown): I {
  const parsed = spec.inputSchema.safeParse(input)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.map(String).join('.') : '(the input object)'
    return `- ${field}: ${issue.message}`
  })
  throw new ToolInputError(
    `Invalid input for ${spec.name}:\n${problems.join('\n')}\nExpected: ${describeShape(spec)}`,
  )
}

/**
 * Validates and runs a tool. Every adapter calls this: a failure throws an error whose message is
 * written for the model (what went wrong and what to do), which the adapter hands over in its
 * framework's own way.
 */
export async function runTool<I>(
  spec: ToolSpec<I>,
  session: SandboxSession,
  input: unknown,
  ctx: ToolContext = {},
): Promise<ToolOutput> {
  const parsed = parseToolInput(spec, input)
  return spec.run(session, parsed, ctx)
}

/** The error text a model should see for a failed call. */
export function toolErrorText(spec: Pick<ToolSpec, 'name'>, error: unknown): string {
  return `${spec.name} failed: ${describeError(error)}`
}

/** Resolves an approval policy for one call. */
export async function needsApproval(
  policy: ApprovalPolicy | undefined,
  name: ToolName,
  input: unknown,
): Promise<boolean> {
  if (policy === undefined || policy === false) return false
  if (policy === true) return true
  if (typeof policy === 'function') return Boolean(await policy({ name, input }))
  return policy.includes(name)
}

/**
 * A policy for one tool, in the form frameworks take it: a boolean when the answer does not depend
 * on the input, else a predicate over the call's input.
 */
export function approvalFor(
  policy: ApprovalPolicy | undefined,
  name: ToolName,
): boolean | ((input: unknown) => Promise<boolean>) {
  if (typeof policy === 'function') return (input) => needsApproval(policy, name, input)
  if (policy === undefined || typeof policy === 'boolean') return policy === true
  return policy.includes(name)
}

export function limitsFor(session: SandboxSession, ctx: ToolContext): OutputLimits & { maxBytes: number } {
  const limits = session.outputLimits(ctx.output)
  return { ...limits, maxBytes: limits.maxBytes ?? DEFAULT_MAX_BYTES }
}

function describeShape(spec: ToolSpec): string {
  const schema = spec.inputSchema as unknown as {
    shape?: Record<string, { isOptional?: () => boolean; description?: string }>
  }
  if (!schema.shape) return 'see the tool schema'
  const fields = Object.entries(schema.shape).map(([key, field]) => {
    const optional = field.isOptional?.() ? '?' : ''
    return `${key}${optional}`
  })
  return `{ ${fields.join(', ')} }`
}
