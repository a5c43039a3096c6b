/**
 * Code interpreter conformance: what `createCodeContext` / `runCode` / `deleteCodeContext` of any SandboxBackend
 * must do, in the SDK's result shapes. Written only against SandboxBackend; call it from a backend's test file:
 *
 *   describeCodeConformance('LocalSandbox', (id) => localSandbox(id))
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExecutionResult, SandboxBackend } from '../../src/backend.js'

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export function describeCodeConformance(name: string, makeBackend: (id: string) => SandboxBackend): void {
  describe(`${name}: code interpreter`, () => {
    let backend: SandboxBackend
    beforeAll(() => {
      backend = makeBackend(`code-conformance-${randomUUID().slice(0, 8)}`)
    })
    afterAll(() => backend.destroy())

    /** Skips the test when the sandbox's Python lacks `module`. */
    async function requireModule(module: string, skip: (note: string) => never): Promise<void> {
      const probe = await backend.runCode(`import ${module}`)
      if (probe.error?.name === 'ModuleNotFoundError')
        skip(`${module} is not installed in this sandbox's Python`)
      expect(probe.error).toBeUndefined()
    }

    it('keeps state between the runs of a context and returns the last expression', async () => {
      const context = await backend.createCodeContext({ language: 'python' })
      expect(context).toMatchObject({ language: 'python' })
      expect(context.id).toEqual(expect.any(String))
      const first = await backend.runCode('x = 40\ndef twice(n):\n    return 2 * n\nx + 1', { context })
      expect(first).toMatchObject({
        code: 'x = 40\ndef twice(n):\n    return 2 * n\nx + 1',
        results: [{ text: '41' }],
      })
      expect(first.error).toBeUndefined()
      expect((await backend.runCode('twice(x)', { context })).results).toEqual([{ text: '80' }])
      expect((await backend.runCode('y = twice(x)', { context })).results).toEqual([])
    })

    it('captures stdout and stderr as logs', async () => {
      const result = await backend.runCode(
        'import sys\nprint("out 1")\nprint("err 1", file=sys.stderr)\nprint("out 2")',
      )
      expect(result.logs.stdout.join('')).toBe('out 1\nout 2\n')
      expect(result.logs.stderr.join('')).toBe('err 1\n')
      expect(result.results).toEqual([])
    })

    it('reports an exception with its name, message and traceback', async () => {
      const result = await backend.runCode(
        'def divide(a, b):\n    return a / b\nprint("before")\ndivide(1, 0)',
      )
      expect(result.error).toMatchObject({ name: 'ZeroDivisionError', message: 'division by zero' })
      const traceback = result.error?.traceback.join('\n') ?? ''
      expect(traceback).toContain('ZeroDivisionError')
      expect(traceback).toContain('return a / b')
      expect(result.logs.stdout.join('')).toBe('before\n')
    })

    it('keeps contexts apart', async () => {
      const one = await backend.createCodeContext()
      const two = await backend.createCodeContext()
      expect(one.id).not.toBe(two.id)
      await backend.runCode('secret = 1', { context: one })
      expect((await backend.runCode('secret', { context: one })).results).toEqual([{ text: '1' }])
      expect((await backend.runCode('secret', { context: two })).error?.name).toBe('NameError')
    })

    it('uses one default context per language when no context is given', async () => {
      await backend.runCode('shared = "python default"')
      await backend.runCode('var shared = "javascript default"', { language: 'javascript' })
      expect((await backend.runCode('shared')).results[0]?.text).toBe("'python default'")
      expect((await backend.runCode('shared', { language: 'javascript' })).results[0]?.text).toBe(
        "'javascript default'",
      )
    })

    it('returns dicts and lists as json as well as text', async () => {
      const result = await backend.runCode('{"a": [1, 2], "b": None}')
      expect(result.results).toEqual([{ text: "{'a': [1, 2], 'b': None}", json: { a: [1, 2], b: null } }])
    })

    it('renders a pandas DataFrame as html', async ({ skip }) => {
      await requireModule('pandas', skip)
      const result = await backend.runCode(
        'import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "n": [1, 2]})',
      )
      expect(result.error).toBeUndefined()
      expect(result.results).toHaveLength(1)
      expect(result.results[0]?.html).toMatch(/<table[\s\S]*Oslo[\s\S]*<\/table>/)
      expect(result.results[0]?.text).toContain('Lima')
    })

    it('renders matplotlib figures as png', async ({ skip }) => {
      await requireModule('matplotlib', skip)
      const result = await backend.runCode(
        'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("shown")\nplt.show()\nplt.figure()\nplt.bar(["a", "b"], [2, 1])',
      )
      expect(result.error).toBeUndefined()
      const images = result.results.filter((r) => r.png)
      expect(images).toHaveLength(2)
      for (const image of images)
        expect([...Buffer.from(image.png ?? '', 'base64').subarray(0, 8)]).toEqual(PNG_MAGIC)
    })

    it('runs JavaScript with persistent state, top-level await and json results', async () => {
      const context = await backend.createCodeContext({ language: 'javascript' })
      expect(context.language).toBe('javascript')
      const first = await backend.runCode('const base = 40\nconsole.log("hello")\nbase + 2', { context })
      expect(first).toMatchObject({ logs: { stdout: ['hello\n'], stderr: [] }, results: [{ text: '42' }] })
      const second = await backend.runCode(
        'const later = await Promise.resolve(base + 1);\n({ later, list: [1, 2] })',
        {
          context,
        },
      )
      expect(second.error).toBeUndefined()
      expect(second.results).toEqual([
        { text: '{ later: 41, list: [ 1, 2 ] }', json: { later: 41, list: [1, 2] } },
      ] satisfies ExecutionResult['results'])
    })

    it('reports JavaScript exceptions', async () => {
      const context = await backend.createCodeContext({ language: 'javascript' })
      const result = await backend.runCode('function fail() { throw new RangeError("too far") }\nfail()', {
        context,
      })
      expect(result.error).toMatchObject({ name: 'RangeError', message: 'too far' })
      expect(result.error?.traceback[0]).toBe('RangeError: too far')
    })

    it('refuses a deleted context with CONTEXT_NOT_FOUND', async () => {
      const context = await backend.createCodeContext()
      await backend.deleteCodeContext(context.id)
      await expect(backend.runCode('1', { context })).rejects.toMatchObject({ code: 'CONTEXT_NOT_FOUND' })
    })
  })
}
