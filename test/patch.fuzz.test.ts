import { applyDiff } from '@openai/agents'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PatchError } from '../src/errors.js'
import { applyCreate, applyUpdate, editText, parsePatch, planPatch } from '../src/patch.js'

/**
 * Generated cases: each property draws one seed (fast-check reports it on failure) and a small PRNG
 * derives the case from it, so one seed reproduces one file set, edit and patch.
 */
class Random {
  #state: number
  constructor(seed: number) {
    this.#state = seed >>> 0
  }
  next(): number {
    // mulberry32
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }
}

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const BOM = '\uFEFF'

// ---------------------------------------------------------------------------------------------
// Deriving a V4A diff from a real before/after, so that it is meant to apply

type DiffLine = { kind: ' ' | '-' | '+'; text: string }

/** A shortest line edit script from `a` to `b` (LCS), removals before additions. */
function lineDiff(a: string[], b: string[]): DiffLine[] {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i++]! })
      j += 1
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push({ kind: '-', text: a[i++]! })
    } else {
      out.push({ kind: '+', text: b[j++]! })
    }
  }
  return out
}

interface DiffStyle {
  /** Context lines around each change. */
  context: number
  /** Probability that a hunk gets `@@ line` headers, and that they are two. */
  anchors: number
  /** Mark a hunk that ends at the last line with `*** End of File`. */
  eof: boolean
  /** Probability of changing the whitespace of a context or removed line. */
  perturb: number
  /** Leave out the first hunk's `@@`. */
  bareFirst: boolean
  /** Anchors only where they cannot mislead (the line is above the hunk, below the previous one). */
  safeAnchors: boolean
}

/** `before` and `after` are file lines as `text.split('\n')` gives them. Returns hunk lines. */
function makeHunks(before: string[], after: string[], style: DiffStyle, r: Random): string[] {
  const ops = lineDiff(before, after)
  const ranges: Array<[number, number]> = []
  for (const [k, op] of ops.entries()) {
    if (op.kind === ' ') continue
    const lo = Math.max(0, k - style.context)
    const hi = Math.min(ops.length, k + 1 + style.context)
    const last = ranges.at(-1)
    if (last && lo <= last[1]) last[1] = hi
    else ranges.push([lo, hi])
  }
  const oldIndex = [0]
  for (const op of ops) oldIndex.push(oldIndex.at(-1)! + (op.kind === '+' ? 0 : 1))
  const lastLine = before.length > 1 && before.at(-1) === '' ? before.length - 1 : before.length
  const lines: string[] = []
  let previousEnd = 0
  for (const [h, [lo, hi]] of ranges.entries()) {
    const start = oldIndex[lo]!
    const end = oldIndex[hi]!
    if (h > 0 || !style.bareFirst) lines.push(...headers(before, style, previousEnd, start, r))
    for (const op of ops.slice(lo, hi)) {
      const text = op.kind !== '+' && r.chance(style.perturb) ? perturb(op.text, r) : op.text
      lines.push(op.kind === ' ' && text === '' && r.chance(0.5) ? '' : op.kind + text)
    }
    if (style.eof && (end === lastLine || !style.safeAnchors)) lines.push('*** End of File')
    previousEnd = end
  }
  return lines
}

function headers(
  before: string[],
  style: DiffStyle,
  previousEnd: number,
  start: number,
  r: Random,
): string[] {
  if (!r.chance(style.anchors)) return ['@@']
  const named = (k: number): string | undefined => {
    const line = before[k]
    if (!line?.trim()) return undefined
    return `@@ ${r.chance(style.perturb) ? perturb(line, r) : line}`
  }
  if (!style.safeAnchors) {
    return [
      named(r.int(before.length)) ?? '@@',
      ...(r.chance(0.3) ? [named(r.int(before.length)) ?? '@@'] : []),
    ]
  }
  // Two headers: the second is searched forward from the previous hunk, the first anywhere above it.
  const lowest = Math.max(previousEnd, 1)
  if (start <= lowest || r.chance(0.5)) return [named(start - 1 - r.int(start)) ?? '@@']
  const second = lowest + r.int(start - lowest)
  return [named(r.int(second)) ?? '@@', named(second) ?? '@@']
}

function perturb(text: string, r: Random): string {
  return r.pick([`${text} `, `${text}\t`, `  ${text}`, `\t${text}`, text.trim()])
}

/** Applies random line edits: removals, insertions and replacements. */
function editLines(lines: string[], r: Random, newLine: () => string): string[] {
  const out = [...lines]
  for (let n = 1 + r.int(4); n > 0; n -= 1) {
    const k = r.int(out.length + 1)
    const action = r.int(3)
    if (action === 0 && k < out.length) out.splice(k, 1)
    else if (action === 1 || k === out.length) out.splice(k, 0, newLine())
    else out[k] = newLine()
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Differential: generated diffs against applyDiff

/** Lines chosen to collide: repeats, whitespace variants, blanks, CRs, marker look-alikes. */
const VOCAB = [
  'alpha',
  'beta',
  '  alpha',
  'alpha  ',
  '\talpha',
  '',
  ' ',
  '{',
  '}',
  'return x;',
  '    return x;',
  'x\r',
  '@@ alpha',
  '*** note',
  '-dash',
  '+plus',
  'é ü',
  '\u00a0nbsp',
]

/** applyDiff's result, or undefined where it throws. */
function sdk(original: string, diff: string): string | undefined {
  try {
    return applyDiff(original, diff)
  } catch {
    return undefined
  }
}

/** The PatchError `fn` throws, or its result; anything else thrown fails the test. */
function attempt<T>(fn: () => T): T | PatchError {
  try {
    return fn()
  } catch (error) {
    if (error instanceof PatchError) return error
    throw error
  }
}

const GARBAGE = [
  '',
  ' ',
  '@@',
  '@@ alpha',
  '@@@',
  '***',
  '*** End of File',
  '*** End of File ',
  '*** End Patch',
  '*** Move to: f9.txt',
  '*** Add File: f0.txt',
  '*** Update File: f1.txt',
  '*** Delete File: f2.txt',
  '*** Begin Patch',
  '+',
  '-',
  '-alpha',
  ' alpha',
  'alpha',
  '```',
  'EOF',
  '\r',
]

/** One to three random line mutations of `text`. */
function mutate(text: string, r: Random): string {
  const lines = text.split('\n')
  for (let n = 1 + r.int(3); n > 0; n -= 1) {
    const k = r.int(lines.length)
    const line = lines[k] ?? ''
    switch (r.int(8)) {
      case 0:
        lines.splice(k, 1)
        break
      case 1:
        lines.splice(k, 0, line)
        break
      case 2:
        lines.splice(k, 0, r.pick(GARBAGE))
        break
      case 3:
        lines[k] = r.pick([' ', '-', '+', '@', '*', 'x', '']) + line.slice(1)
        break
      case 4: {
        const at = r.int(line.length + 1)
        lines[k] = line.slice(0, at) + r.pick(['z', ' ', '\t', '']) + line.slice(at + 1)
        break
      }
      case 5:
        lines.splice(k + 1, 0, ...lines.splice(k, 1))
        break
      case 6:
        lines.length = k
        break
      default:
        lines[k] = line.replace(/f\d/, `f${r.int(6)}`)
    }
  }
  return lines.join('\n')
}

describe('differential: generated diffs against applyDiff', () => {
  it('applyUpdate equals applyDiff where it succeeds and throws PatchError where it throws', () => {
    let applied = 0
    let runs = 0
    fc.assert(
      fc.property(seed, (s) => {
        const r = new Random(s)
        const lines = Array.from({ length: r.int(14) }, () => r.pick(VOCAB))
        if (r.chance(0.6)) lines.push('')
        const eol = r.pick(['\n', '\r\n', 'mixed'])
        const original = lines
          .map((line, k) => (k === 0 ? '' : eol === 'mixed' ? r.pick(['\n', '\r\n']) : eol) + line)
          .join('')
        // The lines as applyDiff sees them: split on CRLF when every line break is one.
        const view =
          original.includes('\n') && !/(^|[^\r])\n/.test(original)
            ? original.split('\r\n')
            : original.split('\n')
        const after = editLines(view, r, () => r.pick([...VOCAB, 'new', 'changed line']))
        const style: DiffStyle = {
          context: r.int(4),
          anchors: r.pick([0, 0.5, 1]),
          eof: r.chance(0.3),
          perturb: r.pick([0, 0.2]),
          bareFirst: r.chance(0.3),
          safeAnchors: r.chance(0.5),
        }
        let diff = makeHunks(view, after, style, r).join(r.pick(['\n', '\r\n'])) + r.pick(['\n', ''])
        if (r.chance(0.3)) diff = mutate(diff, r)
        const expected = sdk(original, diff)
        const actual = attempt(() => applyUpdate(original, diff))
        runs += 1
        if (expected === undefined) {
          expect(actual).toBeInstanceOf(PatchError)
        } else {
          applied += 1
          expect(actual).toBe(expected)
        }
      }),
      { numRuns: 500 },
    )
    // The corpus must mostly be diffs that apply, or equality would be tested too rarely.
    expect(applied / runs).toBeGreaterThan(0.5)
  })

  it('applyCreate equals applyDiff create mode where it succeeds and throws PatchError where it throws', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const r = new Random(s)
        const lines = Array.from({ length: r.int(8) }, () =>
          r.chance(0.85) ? `+${r.pick(VOCAB)}` : r.pick(GARBAGE),
        )
        const diff = lines.join(r.pick(['\n', '\r\n'])) + r.pick(['\n', ''])
        let expected: string | undefined
        try {
          expected = applyDiff('', diff, 'create')
        } catch {
          expected = undefined
        }
        const actual = attempt(() => applyCreate(diff))
        if (expected === undefined) expect(actual).toBeInstanceOf(PatchError)
        else expect(actual).toBe(expected)
      }),
      { numRuns: 300 },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Whole patches over a file set

const WORDS = [
  'const',
  'let',
  'return',
  'if',
  'import',
  'export',
  'total',
  '{',
  '}',
  '//',
  'def',
  'pass',
  '+x',
  '-y',
]

/**
 * A file's lines as `split('\n')` gives them: distinct non-blank lines (each ends with a unique
 * `id;`, so no line is part of another), then '' when the file ends with a newline.
 */
function uniqueLines(r: Random, id: string): string[] {
  const lines = Array.from(
    { length: r.int(12) },
    (_, k) => `${r.pick(['', '  ', '    ', '\t'])}${r.pick(WORDS)} ${id}${k};${r.chance(0.1) ? ' ' : ''}`,
  )
  if (lines.length === 0) return ['']
  return r.chance(0.7) ? [...lines, ''] : lines
}

interface FileSet {
  files: Record<string, string>
  /** The lines of each file and its line break ('\r\n' only when it has line breaks). */
  shape: Record<string, { lines: string[]; eol: string; bom: string }>
}

function fileSet(r: Random): FileSet {
  const files: Record<string, string> = {}
  const shape: FileSet['shape'] = {}
  for (let k = 0, n = 1 + r.int(4); k < n; k += 1) {
    const path = `f${k}.txt`
    const lines = uniqueLines(r, `f${k}-`)
    const eol = lines.length > 1 && r.chance(0.3) ? '\r\n' : '\n'
    const bom = r.chance(0.1) ? BOM : ''
    shape[path] = { lines, eol, bom }
    files[path] = bom + lines.join(eol)
  }
  return { files, shape }
}

interface PatchCase {
  text: string
  /** The file set the patch should produce. */
  expected: Record<string, string>
}

/** A patch that must apply to `set`, and the file set it produces. */
function validPatch(set: FileSet, r: Random): PatchCase {
  const body: string[] = []
  const expected = { ...set.files }
  for (const [path, { lines, eol, bom }] of Object.entries(set.shape)) {
    const action = r.pick(['keep', 'update', 'update', 'move', 'delete'])
    if (action === 'keep') continue
    if (action === 'delete') {
      body.push(`*** Delete File: ${path}`)
      delete expected[path]
      continue
    }
    const after = r.chance(0.9) ? editLines(lines, r, () => `${r.pick(WORDS)} new${r.int(100)}`) : lines
    const style: DiffStyle = {
      context: 1 + r.int(3),
      anchors: r.pick([0, 0.5]),
      eof: r.chance(0.5),
      perturb: r.pick([0, 0.3]),
      bareFirst: r.chance(0.5),
      safeAnchors: true,
    }
    const hunks = makeHunks(lines, after, style, r)
    if (action === 'update' && hunks.length === 0) continue
    body.push(`*** Update File: ${path}`)
    const destination = action === 'move' ? `moved/${path}` : path
    if (action === 'move') {
      body.push(`*** Move to: ${destination}`)
      delete expected[path]
    }
    body.push(...hunks)
    expected[destination] = bom + after.join(eol)
  }
  for (let k = 0, n = r.int(3); k < n || body.length === 0; k += 1) {
    const path = `new/n${k}.md`
    const lines = Array.from({ length: r.int(5) }, () =>
      r.pick([...WORDS, '', ' indented', '*** End Patch', '@@']),
    )
    body.push(`*** Add File: ${path}`, ...lines.map((line) => `+${line}`))
    expected[path] = lines.length ? `${lines.join('\n')}\n` : ''
  }
  const eol = r.pick(['\n', '\r\n'])
  const text = ['*** Begin Patch', ...body, '*** End Patch'].join(eol) + r.pick(['', eol, `${eol}${eol}`])
  const wrapped = r.pick([
    text,
    `\`\`\`diff${eol}${text}${eol}\`\`\``,
    `apply_patch <<'EOF'${eol}${text}${eol}EOF${eol}`,
  ])
  return { text: wrapped, expected }
}

/** The file set after writing a plan's changes (as the caller would). */
function written(
  files: Record<string, string>,
  plan: Awaited<ReturnType<typeof planPatch>>,
): Record<string, string> {
  const out = { ...files }
  for (const change of plan.changes) {
    if (change.movedFrom !== undefined) delete out[change.movedFrom]
    if (change.after === null) delete out[change.path]
    else out[change.path] = change.after
  }
  return out
}

/** Every update in `text` gives, through applyUpdate, what the plan says; and applyDiff agrees. */
function expectConsistent(
  text: string,
  files: Record<string, string>,
  plan: Awaited<ReturnType<typeof planPatch>>,
) {
  const ops = parsePatch(text)
  expect(plan.changes).toHaveLength(ops.length)
  for (const [k, op] of ops.entries()) {
    const change = plan.changes[k]!
    if (op.type !== 'update') continue
    const before = files[op.path]!
    expect(change.before).toBe(before)
    expect(change.after).toBe(applyUpdate(before, op.diff))
    const bom = before.startsWith(BOM) ? BOM : ''
    expect(change.after).toBe(bom + applyDiff(before.slice(bom.length), op.diff))
  }
}

function reader(files: Readonly<Record<string, string>>): (path: string) => Promise<string | null> {
  return async (path) => (Object.hasOwn(files, path) ? files[path]! : null)
}

describe('planPatch on generated patches', () => {
  it('applies valid patches completely', async () => {
    await fc.assert(
      fc.asyncProperty(seed, async (s) => {
        const r = new Random(s)
        const set = fileSet(r)
        const { text, expected } = validPatch(set, r)
        const files = Object.freeze({ ...set.files })
        const plan = await planPatch(text, reader(files))
        expect(written(files, plan)).toEqual(expected)
        expectConsistent(text, files, plan)
        expect(files).toEqual(set.files)
      }),
      { numRuns: 1000 },
    )
  })

  it('rejects bad patches with a PatchError only, and leaves its inputs untouched', async () => {
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(seed, fc.string({ unit: 'grapheme-ascii' }), async (s, junk) => {
        const r = new Random(s)
        const set = fileSet(r)
        const text = r.chance(0.1)
          ? r.pick([junk, `*** Begin Patch\n${junk}\n*** End Patch`])
          : r.chance(0.2)
            ? Array.from({ length: r.int(10) }, () => r.pick(GARBAGE)).join('\n')
            : mutate(validPatch(set, r).text, r)
        const files = Object.freeze({ ...set.files })
        const before = JSON.stringify(files)
        const plan = await planPatch(text, reader(files)).catch((error: unknown) => {
          expect(error).toBeInstanceOf(PatchError)
          rejected += 1
          return undefined
        })
        expect(JSON.stringify(files)).toBe(before)
        if (plan) expectConsistent(text, files, plan)
      }),
      { numRuns: 1200 },
    )
    expect(rejected).toBeGreaterThan(600)
  })
})

// ---------------------------------------------------------------------------------------------
// editText

describe('editText on generated edits', () => {
  it('replaces a unique run of lines', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const r = new Random(s)
        const lines = uniqueLines(r, 'e')
        const eol = r.pick(['\n', '\r\n'])
        const bom = r.chance(0.1) ? BOM : ''
        const content = bom + lines.join(eol)
        const start = r.int(lines.length)
        const count = 1 + r.int(Math.min(3, lines.length - start))
        if (lines.slice(start, start + count).join('') === '') return
        const replacement = Array.from({ length: r.int(3) }, () => `${r.pick(WORDS)} $& new`)
        const oldText = lines.slice(start, start + count).join(r.pick(['\n', eol]))
        const result = editText(content, oldText, replacement.join('\n'))
        // LF in new_text becomes CRLF in a file whose line breaks are CRLF.
        const newEol = eol === '\r\n' && lines.length > 1 ? '\r\n' : '\n'
        const expected = [...lines.slice(0, start), replacement.join(newEol), ...lines.slice(start + count)]
        expect(result).toEqual({ content: bom + expected.join(eol), replacements: 1 })
      }),
      { numRuns: 500 },
    )
  })

  it('throws only PatchError on edits that do not fit', () => {
    fc.assert(
      fc.property(seed, fc.boolean(), (s, replaceAll) => {
        const r = new Random(s)
        const content = Array.from({ length: r.int(12) }, () => r.pick(VOCAB)).join(r.pick(['\n', '\r\n']))
        const at = r.int(content.length + 1)
        const oldText = mutate(content.slice(at, at + 1 + r.int(20)), r)
        const result = attempt(() => editText(content, oldText, r.pick(VOCAB), { replaceAll }))
        if (result instanceof PatchError) return
        expect(result.replacements).toBeGreaterThan(0)
        if (!replaceAll) expect(result.replacements).toBe(1)
      }),
      { numRuns: 1000 },
    )
  })
})
