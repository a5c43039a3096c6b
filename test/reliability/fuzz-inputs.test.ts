/**
 * R2 — fuzzed tool inputs. Random and malformed inputs for random tools, through each adapter's real
 * invocation path (invokers.ts): no exception escapes, and an input the tool's schema refuses comes
 * back to the model as an error that names the bad field, before the sandbox is touched. The session
 * runs over a backend that fails every call and counts it: a refused input must not reach it (an
 * input that happens to be valid does reach it and fails there, which is still an answer, not a throw).
 *
 * The native OpenAI tools get the same treatment: random shell actions through `SandboxShell.run` and
 * random operations through `SandboxEditor` resolve, never throw.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { SandboxEditor, SandboxShell } from '../../adapters/openai/index.js'
import { createSession } from '../../src/session.js'
import { allTools, type ToolSpec } from '../../src/tools/index.js'
import { unreachableBackend } from './host.js'
import { type AdapterName, adapterNames, invokerFor } from './invokers.js'

const RUNS = 1000
const backend = unreachableBackend()
const session = createSession({ sandbox: () => backend, retry: { retries: 0 } })
afterAll(() => session.destroy())

type Shape = Record<string, { safeParse(v: unknown): { success: boolean } }>
const shapeOf = (spec: ToolSpec) => (spec.inputSchema as unknown as { shape: Shape }).shape

/** Values of every JSON kind, with a bias to the edge cases of the tools' fields. */
const anyValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '0', '-1', 'null', 'true', '\u0000', '../x', 'a'.repeat(5000)),
  fc.integer(),
  fc.constantFrom(0, -1, 1.5, 1e21, -1e-9, 65536, 2 ** 53, Number.MAX_SAFE_INTEGER + 2),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
)

/** A tool and an input for it: its own fields with random values, some missing, some extra. */
const call = fc.constantFrom(...allTools).chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    input: fc.oneof(
      { weight: 8, arbitrary: objectInput(spec) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    ),
  }),
)

function objectInput(spec: ToolSpec): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(shapeOf(spec))
  return fc
    .tuple(
      fc.subarray(keys),
      fc.array(anyValue, { minLength: keys.length, maxLength: keys.length }),
      fc.dictionary(fc.constantFrom('extra', 'Path', 'cmd', '__proto__x'), anyValue, { maxKeys: 2 }),
    )
    .map(([present, values, extra]) => {
      const input: Record<string, unknown> = { ...extra }
      for (const [k, key] of keys.entries()) if (present.includes(key)) input[key] = values[k]
      return input
    })
}

/**
 * The input the tool's schema sees after the framework: JSON (as a model sends it) and, in the OpenAI
 * adapter, a top-level `null` for an optional field read as "not given" (strict mode's convention).
 */
function asSeen(adapter: AdapterName, spec: ToolSpec, input: unknown): unknown {
  const json = JSON.parse(JSON.stringify(input))
  if (adapter !== 'openai' || !json || typeof json !== 'object' || Array.isArray(json)) return json
  const shape = shapeOf(spec)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(json)) {
    const field = shape[key]
    if (value === null && field && !field.safeParse(null).success && field.safeParse(undefined).success)
      continue
    out[key] = value
  }
  return out
}

/** The field a refusal must name: the first issue's top-level key, or the input object itself. */
function badField(spec: ToolSpec, seen: unknown): string | undefined {
  const parsed = spec.inputSchema.safeParse(seen)
  if (parsed.success) return undefined
  const path = parsed.error.issues[0]?.path ?? []
  return path.length ? String(path[0]) : '(the input object)'
}

describe('R2 fuzzed tool inputs', () => {
  for (const adapter of adapterNames) {
    it(`${adapter}: ${RUNS} random inputs for random tools — no throw, refusals name the field`, async () => {
      const invoke = invokerFor(adapter, session)
      let refused = 0
      let reachedBackend = 0
      await fc.assert(
        fc.asyncProperty(call, async ({ spec, input }) => {
          // LangChain tool calls carry an object of arguments (the provider parses the JSON)
          const args = input // LangChain included: any args value becomes a ToolMessage
          const field = badField(spec, asSeen(adapter, spec, args))
          const before = backend.calls.length
          // openai and ai get the arguments as the JSON text a model sends
          const sent = adapter === 'openai' || adapter === 'ai' ? JSON.stringify(args) : args
          const view = await invoke(spec.name, sent) // must not throw
          expect(typeof view.text).toBe('string')
          if (field === undefined) {
            reachedBackend++
            return
          }
          refused++
          expect(view.error, view.text).toBe(true)
          expect(view.text).toContain(`Invalid input for ${spec.name}`)
          expect(view.text).toContain(field)
          expect(backend.calls.length, `${spec.name} reached the sandbox with ${view.text}`).toBe(before)
        }),
        { numRuns: RUNS },
      )
      expect(refused).toBeGreaterThan(RUNS * 0.8)
      expect(refused + reachedBackend).toBe(RUNS)
    })
  }

  for (const adapter of ['openai', 'ai'] as const) {
    it(`${adapter}: malformed JSON arguments are an error for the model, not a throw`, async () => {
      const invoke = invokerFor(adapter, session)
      const before = backend.calls.length
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...allTools),
          fc.oneof(
            fc.constantFrom(
              '',
              '{',
              '{"command": "ls"',
              "{'path': 'a'}",
              '{"path": "a",}',
              'null',
              '[]',
              'undefined',
            ),
            fc.string({ maxLength: 30 }).filter((s) => !isJson(s)),
            fc.jsonValue().map((v) => `${JSON.stringify(v)} trailing`),
          ),
          async (spec, raw) => {
            // the AI SDK reads empty arguments as {} (its convention for tools without arguments)
            fc.pre(!(adapter === 'ai' && raw.trim() === ''))
            const view = await invoke(spec.name, raw)
            expect(view.error, `${spec.name} ${JSON.stringify(raw)} → ${view.text}`).toBe(true)
            expect(view.text).toMatch(/JSON|Invalid input/i)
          },
        ),
        { numRuns: 200 },
      )
      expect(backend.calls.length).toBe(before)
    })
  }

  it('native SandboxShell: random shell actions always resolve with one answer per command at most', async () => {
    const shell = new SandboxShell(session)
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            commands: fc.oneof(
              fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
              fc.constant(undefined),
            ),
            timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined)),
            maxOutputLength: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined)),
          },
          { requiredKeys: [] },
        ),
        async (action) => {
          const result = await shell.run(action as never)
          expect(result.output.length).toBeGreaterThanOrEqual(1)
          expect(result.output.length).toBeLessThanOrEqual(Math.max(1, action.commands?.length ?? 0))
          for (const entry of result.output) {
            expect(typeof entry.stdout).toBe('string')
            expect(typeof entry.stderr).toBe('string')
          }
          // the commands could not run (the sandbox refuses every call): the model is told why
          if (
            action.commands?.length &&
            !(Number(action.maxOutputLength) > 0 && Number(action.maxOutputLength) < 200)
          )
            expect(result.output[0]?.stderr).toMatch(/backend\.\w+ was reached/)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('native SandboxEditor: random operations always resolve to completed or failed', async () => {
    const editor = new SandboxEditor(session)
    const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', '../x', '/etc/passwd', 'a\nb'))
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('create_file', 'update_file', 'delete_file'),
        text,
        fc.oneof(text, fc.constantFrom('+x\n', '@@\n-a\n+b\n', '*** End Patch')),
        fc.option(text, { nil: undefined }),
        async (type, path, diff, moveTo) => {
          const result =
            type === 'create_file'
              ? await editor.createFile({ type, path, diff })
              : type === 'update_file'
                ? await editor.updateFile({ type, path, diff, ...(moveTo !== undefined ? { moveTo } : {}) })
                : await editor.deleteFile({ type, path })
          expect(['completed', 'failed']).toContain(result.status)
          // nothing can be written here: every operation fails, and says something
          expect(result.status).toBe('failed')
          expect(result.output?.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 300 },
    )
  })
})

function isJson(s: string): boolean {
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}
