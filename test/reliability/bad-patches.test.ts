/**
 * R6 — fuzzed bad patches on real files. Generated patches, each made bad by one mutation, through the
 * apply_patch tool (the four adapters in turn) and through the OpenAI adapter's native
 * `SandboxEditor`: every failure leaves every file byte-identical (compared on the host, where the
 * workspace folder is). test/patch.fuzz.test.ts proves the planner on strings; this proves the tool on
 * files. Then the write phase itself fails (injected faults on the k-th backend write, delete or move):
 * what was written must be rolled back.
 *
 * The sessions here skip the in-sandbox realpath check (`checkSymlinks: false`, R1 proves it): it
 * costs a command per path and is not what is under test.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SandboxEditor } from '../../adapters/openai/index.js'
import type { SandboxBackend } from '../../src/backend.js'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { type Fault, faulty } from '../helpers/faulty.js'
import { diffSnapshots, hasBwrap, NO_BWRAP_REASON, snapshot } from './host.js'
import { adapterNames, invokerFor, type RawInvoke } from './invokers.js'

const BAD_PATCHES = 1000
const BOM = '\uFEFF'

/** mulberry32: one fast-check seed → one reproducible case. */
class Random {
  #s: number
  constructor(seed: number) {
    this.#s = seed >>> 0
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

/** The files every case starts from: LF, CRLF, a BOM, no final newline, empty, nested, blank lines. */
const FILES: Record<string, string> = {
  'lf.txt': 'alpha\nbeta\ngamma\ndelta\nepsilon\n',
  'crlf.txt': 'one\r\ntwo\r\nthree\r\nfour\r\n',
  'bom.md': `${BOM}# Title\n\nbody line\nlast line\n`,
  'nonl.py': 'def f():\n    return 1\n\nprint(f())',
  'empty.txt': '',
  'src/deep/mod.ts': 'export const a = 1\nexport const b = 2\n\n\nexport const c = 3\n',
  'spaces.txt': '  indented\n\ttabbed\ntrailing   \n',
}
const PATHS = Object.keys(FILES)

function lines(path: string): string[] {
  const text = FILES[path]!.replace(BOM, '').replace(/\r\n/g, '\n')
  const out = text.split('\n')
  if (out.at(-1) === '') out.pop()
  return out
}

/** One valid operation on the file set, as patch lines. */
function validOp(r: Random, path: string): string[] {
  const content = lines(path)
  const kind =
    content.length === 0 ? r.pick(['delete', 'move']) : r.pick(['update', 'update', 'delete', 'move'])
  if (kind === 'delete') return [`*** Delete File: ${path}`]
  const head = [
    `*** Update File: ${path}`,
    ...(kind === 'move' ? [`*** Move to: moved/${r.int(1e6)}-${path}`] : []),
  ]
  if (content.length === 0) return head
  const at = r.int(content.length)
  const hunk = ['@@']
  if (at > 0) hunk.push(` ${content[at - 1]}`)
  hunk.push(`-${content[at]}`, `+${content[at]} changed ${r.int(100)}`)
  if (at + 1 < content.length) hunk.push(` ${content[at + 1]}`)
  return [...head, ...hunk]
}

/** A bad patch: valid operations with one mutation that makes the whole patch fail. */
function badPatch(r: Random): { text: string; mutation: string } {
  const chosen = [...PATHS].sort(() => r.next() - 0.5).slice(0, 1 + r.int(3))
  const ops = chosen.map((p) => validOp(r, p))
  if (r.chance(0.4)) ops.push([`*** Add File: added/${r.int(1e6)}.txt`, '+new', '+file'])
  const mutation = r.pick([
    'context',
    'removed',
    'missing-update',
    'missing-delete',
    'add-existing',
    'move-onto-existing',
    'twice',
    'no-end',
    'no-begin',
    'bad-header',
    'bad-hunk-line',
    'escape',
    'truncate',
  ] as const)
  const victim = r.int(ops.length)
  const existing = r.pick(PATHS)
  const bad = (() => {
    switch (mutation) {
      case 'context':
      case 'removed': {
        // a line the file does not have, in the last operation (the others would apply)
        const last = [...ops]
        const target = r.pick(PATHS.filter((p) => lines(p).length > 0))
        last.push([
          `*** Update File: ${target}`,
          '@@',
          mutation === 'context' ? ' no such line here' : '-no such line here',
          '+x',
        ])
        return last.filter((op, k) => k === last.length - 1 || !op[0]!.endsWith(` ${target}`))
      }
      case 'missing-update':
        return [...ops, ['*** Update File: nope/missing.txt', '@@', '-a', '+b']]
      case 'missing-delete':
        return [...ops, ['*** Delete File: missing.txt']]
      case 'add-existing':
        return [
          ...ops.filter((op) => !op[0]!.endsWith(` ${existing}`)),
          [`*** Add File: ${existing}`, '+clobbered'],
        ]
      case 'move-onto-existing': {
        const from = r.pick(PATHS.filter((p) => p !== existing))
        return [
          ...ops.filter((op) => !op[0]!.endsWith(` ${existing}`) && !op[0]!.endsWith(` ${from}`)),
          [`*** Update File: ${from}`, `*** Move to: ${existing}`],
        ]
      }
      case 'twice':
        return [...ops, ops[victim]!]
      case 'bad-header':
        return [...ops, ['*** Frobnicate File: lf.txt']]
      case 'bad-hunk-line':
        return [...ops, ['*** Update File: lf.txt', '@@', 'alpha without a prefix', '+x']].filter(
          (op, k, all) => k === all.length - 1 || !op[0]!.endsWith(' lf.txt'),
        )
      case 'escape':
        return [
          ...ops,
          [
            `*** Add File: ${r.pick(['../outside.txt', '/etc/evil', 'a/../../x', '/workspace/../tmp/x'])}`,
            '+x',
          ],
        ]
      default:
        return ops
    }
  })()
  let text = ['*** Begin Patch', ...bad.flat(), '*** End Patch'].join('\n')
  if (mutation === 'no-end') text = text.slice(0, text.lastIndexOf('*** End Patch'))
  if (mutation === 'no-begin') text = text.replace('*** Begin Patch\n', '')
  if (mutation === 'truncate') {
    // cut inside the body: never a complete patch
    const body = text.indexOf('\n') + 1
    text = text.slice(0, body + r.int(text.length - body - '*** End Patch'.length))
  }
  return { text, mutation }
}

/** Resets the workspace to FILES (its folder stays: the sandbox has it mounted). */
function writeFiles(root: string) {
  for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true })
  for (const [path, content] of Object.entries(FILES)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

describe.skipIf(!hasBwrap)(
  `R6 bad patches on real files (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`,
  () => {
    let session: SandboxSession
    let root: string

    beforeAll(async () => {
      const sandbox = localSandbox(`r6-${process.pid}`)
      root = sandbox.root
      session = createSession({ sandbox: () => sandbox, checkSymlinks: false })
      await session.exec('true')
      writeFiles(root)
    })
    afterAll(() => session.destroy())

    it(`${BAD_PATCHES}+ bad patches through the apply_patch tool (every adapter in turn): no byte changes`, async () => {
      const invokers: RawInvoke[] = adapterNames.map((a) => invokerFor(a, session))
      const reference = snapshot(root)
      let failed = 0
      let applied = 0
      const mutations = new Map<string, number>()
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          const r = new Random(seed)
          const { text, mutation } = badPatch(r)
          const view = await invokers[seed % invokers.length]!('apply_patch', { patch: text })
          if (!view.error) {
            // the mutation happened to leave a valid patch: start over from the reference files
            applied++
            writeFiles(root)
            return
          }
          failed++
          mutations.set(mutation, (mutations.get(mutation) ?? 0) + 1)
          expect(diffSnapshots(reference, snapshot(root)), `${mutation}\n${text}\n→ ${view.text}`).toEqual([])
        }),
        { numRuns: BAD_PATCHES + 150 },
      )
      expect(failed, `applied: ${applied}`).toBeGreaterThanOrEqual(BAD_PATCHES)
      expect(mutations.size).toBe(13)
    })

    it(`${BAD_PATCHES} bad operations through the native SandboxEditor: no byte changes`, async () => {
      const editor = new SandboxEditor(session)
      writeFiles(root)
      const reference = snapshot(root)
      let failed = 0
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          const r = new Random(seed)
          const path = r.pick(PATHS)
          const content = lines(path)
          const wrongLine = r.pick(['not in the file', content[0] ? `${content[0]}x` : 'x', '@@ nowhere'])
          const kind = r.int(7)
          const result =
            kind === 0
              ? await editor.createFile({ type: 'create_file', path, diff: '+clobber\n' })
              : kind === 1
                ? await editor.updateFile({
                    type: 'update_file',
                    path: `gone/${r.int(1e6)}.txt`,
                    diff: '@@\n-a\n+b\n',
                  })
                : kind === 2
                  ? await editor.deleteFile({ type: 'delete_file', path: `gone/${r.int(1e6)}.txt` })
                  : kind === 3
                    ? await editor.updateFile({
                        type: 'update_file',
                        path,
                        moveTo: r.pick(PATHS.filter((p) => p !== path)),
                        diff: '',
                      })
                    : kind === 4
                      ? await editor.updateFile({
                          type: 'update_file',
                          path,
                          moveTo: `moved/${r.int(1e6)}.txt`,
                          diff: `@@\n-${wrongLine}\n+changed\n`,
                        })
                      : await editor.updateFile({
                          type: 'update_file',
                          path,
                          diff: `@@\n ${content[0] ?? ''}\n-${wrongLine}\n+changed\n`,
                        })
          expect(result.status, `kind ${kind} ${path}: ${result.output}`).toBe('failed')
          failed++
          expect(diffSnapshots(reference, snapshot(root)), `kind ${kind} ${path}: ${result.output}`).toEqual(
            [],
          )
        }),
        { numRuns: BAD_PATCHES },
      )
      expect(failed).toBe(BAD_PATCHES)
    })
  },
)

describe.skipIf(!hasBwrap)(
  `R6 a write phase that fails is rolled back (${hasBwrap ? 'bubblewrap' : NO_BWRAP_REASON})`,
  () => {
    /** A valid patch touching every file kind: updates, a delete, a move and an add. */
    const patch = [
      '*** Begin Patch',
      '*** Update File: lf.txt',
      '@@',
      '-beta',
      '+BETA',
      '*** Update File: crlf.txt',
      '@@',
      '-two',
      '+TWO',
      '*** Delete File: nonl.py',
      '*** Update File: bom.md',
      '*** Move to: moved/bom.md',
      '@@',
      '-body line',
      '+BODY',
      '*** Add File: added/new.txt',
      '+new',
      '*** Update File: src/deep/mod.ts',
      '@@',
      '-export const b = 2',
      '+export const b = 3',
      '*** End Patch',
    ].join('\n')

    // [backend method, fault, how many earlier calls of that method go through]
    const faults: [keyof SandboxBackend, Fault, number][] = []
    for (let k = 0; k < 6; k++) {
      faults.push(['writeFile', 'unavailable', k], ['exec', 'unavailable', k], ['exec', 'dropped-after', k])
    }
    for (let k = 0; k < 2; k++)
      faults.push(['deleteFile', 'unavailable', k], ['deleteFile', 'dropped-after', k])
    faults.push(['mkdir', 'unavailable', 0], ['mkdir', 'unavailable', 1])

    /** Applies `patch` with `fault` injected; returns the host differences after the failed patch. */
    async function failWith(
      method: keyof SandboxBackend,
      fault: Fault,
      k: number,
    ): Promise<string[] | undefined> {
      const inner = localSandbox(`r6f-${crypto.randomUUID().slice(0, 8)}`)
      const backend = faulty(inner)
      // no retries: the first failure of a write is the patch's failure
      const session = createSession({ sandbox: () => backend, checkSymlinks: false, retry: { retries: 0 } })
      try {
        await session.exec('true')
        writeFiles(inner.root)
        const reference = snapshot(inner.root)
        backend.inject(method, ...Array<Fault>(k).fill('ok'), fault)
        const view = await invokerFor('neutral', session)('apply_patch', { patch })
        if (!view.error) {
          // the fault never fired (the patch needed fewer such calls): the patch applied completely
          expect(readFileSync(join(inner.root, 'lf.txt'), 'utf8')).toContain('BETA')
          return undefined
        }
        return diffSnapshots(reference, snapshot(inner.root)).map((d) => `${d} (${view.text.split('\n')[0]})`)
      } finally {
        await session.destroy()
      }
    }

    it.each(faults)(
      '%s fails (%s) after %i good calls: every file is as it was',
      async (method, fault, k) => {
        const diff = await failWith(method, fault, k)
        // folders made for new files are looked at below
        expect(diff?.filter((d) => !/^added (added|moved) \(/.test(d)) ?? []).toEqual([])
      },
    )

    it('leaves no folder behind that only the failed patch created', async () => {
      // the 5th written file is added/new.txt: its folder is made first; then its write fails
      const diff = await failWith('writeFile', 'unavailable', 4)
      expect(diff).toEqual([])
    })
  },
)
