import { applyDiff } from '@openai/agents'
import { describe, expect, it } from 'vitest'
import { PatchError } from '../src/errors.js'
import {
  applyCreate,
  applyUpdate,
  editText,
  type PatchOperation,
  parsePatch,
  planPatch,
} from '../src/patch.js'

/** The PatchError `fn` throws (fails the test when it throws nothing or something else). */
function patchError(fn: () => unknown): PatchError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(PatchError)
    return error as PatchError
  }
  throw new Error('expected a PatchError')
}

async function planError(promise: Promise<unknown>): Promise<PatchError> {
  const error = await promise.then(
    () => new Error('expected planPatch to reject'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PatchError)
  return error as PatchError
}

const patch = (...lines: string[]): string => ['*** Begin Patch', ...lines, '*** End Patch'].join('\n')

describe('parsePatch', () => {
  const sample = patch(
    '*** Add File: notes.md',
    '+# Notes',
    '+',
    '+first',
    '*** Update File: src/a.ts',
    '*** Move to: src/b.ts',
    '@@ function a() {',
    '-  return 1',
    '+  return 2',
    '*** Delete File: old.txt',
    '*** Update File: src/c.ts',
    '@@',
    ' x',
    '-y',
    '*** End of File',
  )
  const expected: PatchOperation[] = [
    { type: 'add', path: 'notes.md', content: '# Notes\n\nfirst\n' },
    {
      type: 'update',
      path: 'src/a.ts',
      moveTo: 'src/b.ts',
      diff: '@@ function a() {\n-  return 1\n+  return 2\n',
    },
    { type: 'delete', path: 'old.txt' },
    { type: 'update', path: 'src/c.ts', diff: '@@\n x\n-y\n*** End of File\n' },
  ]

  it('reads add, update (with move), delete and End of File', () => {
    expect(parsePatch(sample)).toEqual(expected)
  })

  it.each([
    ['a final newline', `${sample}\n`],
    ['surrounding whitespace and blank lines', `\n\n  ${sample}  \n\n\n`],
    ['CRLF line endings', sample.replaceAll('\n', '\r\n')],
    ['CRLF and a final CRLF', `${sample.replaceAll('\n', '\r\n')}\r\n`],
    ['a code fence', `\`\`\`\n${sample}\n\`\`\``],
    ['a diff code fence with blank lines', `\n\`\`\`diff\n\n${sample}\n\n\`\`\`\n`],
    ['a quoted heredoc', `apply_patch <<'EOF'\n${sample}\nEOF\n`],
    ['a double-quoted heredoc', `apply_patch <<"PATCH"\n${sample}\nPATCH`],
    ['a bare heredoc piped into a command', `cat <<EOF | apply_patch\n${sample}\nEOF\n`],
    ['a heredoc inside a fence', `\`\`\`bash\napply_patch <<'EOF'\n${sample}\nEOF\n\`\`\``],
  ])('tolerates %s', (_, text) => {
    expect(parsePatch(text)).toEqual(expected)
  })

  it('keeps update bodies exactly, blank lines included', () => {
    const [op] = parsePatch(patch('*** Update File: a', '@@', ' one', '', '-two', '+2'))
    expect(op).toEqual({ type: 'update', path: 'a', diff: '@@\n one\n\n-two\n+2\n' })
  })

  it('trims paths and accepts a move without hunks', () => {
    expect(parsePatch(patch('*** Update File:   a b.txt  ', '*** Move to: c/d.txt'))).toEqual([
      { type: 'update', path: 'a b.txt', moveTo: 'c/d.txt', diff: '' },
    ])
  })

  it('adds an empty file when Add File has no lines', () => {
    expect(parsePatch(patch('*** Add File: empty.py', '*** Delete File: x'))).toEqual([
      { type: 'add', path: 'empty.py', content: '' },
      { type: 'delete', path: 'x' },
    ])
  })

  it('does not mistake file lines that look like markers for markers', () => {
    const [op] = parsePatch(
      patch('*** Update File: t.ts', '@@', ' *** End Patch', '-*** Begin Patch', '+*** Add File: x'),
    )
    expect(op).toMatchObject({ diff: '@@\n *** End Patch\n-*** Begin Patch\n+*** Add File: x\n' })
  })

  it.each([
    [
      'a line that is not a file header',
      patch('*** Add File: a', '+x', 'oops', '*** Delete File: b'),
      'line 4: expected "+" at the start of every line of an added file',
    ],
    [
      'an unknown header',
      patch('*** Delete File: a', '*** Rename File: b'),
      'line 3: expected "*** Add File:", "*** Update File:" or "*** Delete File:", got "*** Rename File: b"',
    ],
    [
      'text before the patch',
      `Here it is:\n${patch('*** Delete File: a')}`,
      'line 1: expected "*** Begin Patch", got "Here it is:"',
    ],
    [
      'no Begin Patch',
      '*** Update File: a\n@@\n-x\n',
      'line 1: expected "*** Begin Patch", got "*** Update File: a"',
    ],
    ['an empty patch', '  \n', 'line 2: expected "*** Begin Patch", got the end of the patch'],
    [
      'no End Patch',
      '*** Begin Patch\n*** Delete File: a\n',
      'line 3: expected "*** End Patch" as the last line',
    ],
    [
      'text after the patch',
      `${patch('*** Delete File: a')}\nthanks`,
      'line 4: expected nothing after "*** End Patch", got "thanks"',
    ],
    [
      'no operations',
      patch(),
      'line 2: expected "*** Add File:", "*** Update File:" or "*** Delete File:", got "*** End Patch"',
    ],
    [
      'a header without a path',
      patch('*** Delete File:   '),
      'line 2: "*** Delete File:" must be followed by a file path',
    ],
    [
      'a move without a path',
      patch('*** Update File: a', '*** Move to:'),
      'line 3: "*** Move to:" must be followed by a file path',
    ],
    [
      'an update without a hunk',
      patch('*** Update File: a', '*** Delete File: b'),
      'line 2: "*** Update File: a" has no hunk',
    ],
    [
      'a bad hunk line',
      patch('*** Update File: a', '@@', ' x', 'y'),
      'line 5: expected a hunk line starting with " " (context)',
    ],
    [
      'a *** line inside a hunk',
      patch('*** Update File: a', '@@', ' x', '*** Move to: b'),
      'line 5: expected a hunk line starting with " " (context)',
    ],
    ['an empty hunk', patch('*** Update File: a', '@@ def f():', '@@x'), 'line 3: the hunk has no lines'],
    [
      'a second hunk without @@',
      patch('*** Update File: a', ' x', '*** End of File', ' y'),
      'line 5: expected "@@" to start the next hunk',
    ],
    [
      'text after End of File',
      patch('*** Update File: a', '-x', '*** End of File', '*** End of File'),
      'line 5: unexpected "*** End of File"',
    ],
  ])('names the line for %s', (_, text, message) => {
    const error = patchError(() => parsePatch(text))
    expect(error.message).toContain(message)
    expect(error.code).toBe('PATCH_FAILED')
    expect(error.hint).toMatch(/\*\*\* (Begin|End) Patch/)
  })

  it('counts lines of the text as sent (CRLF, fence)', () => {
    const text = `\`\`\`\r\n${patch('*** Update File: a', '@@', 'bad').replaceAll('\n', '\r\n')}\r\n\`\`\``
    expect(patchError(() => parsePatch(text)).message).toMatch(/^line 5: /)
  })
})

describe('applyUpdate', () => {
  it('applies the examples from the SDK reference', () => {
    expect(applyUpdate('hello\nworld\n', '@@\n hello\n-world\n+there\n')).toBe('hello\nthere\n')
  })

  it('uses @@ headers to find the right occurrence', () => {
    const file = 'def a():\n    return 1\n\ndef b():\n    return 1\n'
    expect(applyUpdate(file, '@@ def b():\n-    return 1\n+    return 2\n')).toBe(
      'def a():\n    return 1\n\ndef b():\n    return 2\n',
    )
  })

  it('applies several hunks in order, and End of File hunks at the end', () => {
    const file = 'x\na\nx\nb\nx\n'
    expect(applyUpdate(file, '@@\n-x\n+X\n a\n@@\n b\n-x\n+Y\n*** End of File\n')).toBe('X\na\nx\nb\nY\n')
  })

  it('tolerates trailing and surrounding whitespace differences in context', () => {
    expect(applyUpdate('  if (x) {  \n    y()\n  }\n', '@@\n if (x) {\n-y()\n+z()\n')).toBe(
      '  if (x) {  \nz()\n  }\n',
    )
  })

  it('inserts at the top when a hunk has no context', () => {
    expect(applyUpdate('a\nb', '+first\n')).toBe('first\na\nb')
  })

  it('keeps CRLF files CRLF', () => {
    expect(applyUpdate('one\r\ntwo\r\nthree\r\n', '@@\n one\n-two\n+2\n+2b\n')).toBe(
      'one\r\n2\r\n2b\r\nthree\r\n',
    )
  })

  it('leaves files with mixed line endings as they are, except the changed lines', () => {
    expect(applyUpdate('one\r\ntwo\nthree\r\n', '@@\n one\n-two\n+2\n')).toBe('one\r\n2\nthree\r\n')
  })

  it('keeps a UTF-8 BOM, even when the first line is replaced (applyDiff drops it)', () => {
    expect(applyUpdate('\uFEFFfirst\nsecond\n', '@@\n-first\n+1st\n')).toBe('\uFEFF1st\nsecond\n')
    expect(applyDiff('\uFEFFfirst\nsecond\n', '@@\n-first\n+1st\n')).toBe('1st\nsecond\n')
    expect(applyUpdate('\uFEFFa\r\nb\r\n', '@@\n a\n-b\n+c\n')).toBe('\uFEFFa\r\nc\r\n')
  })

  it('returns the text unchanged for an empty diff', () => {
    expect(applyUpdate('a\r\nb', '')).toBe('a\r\nb')
  })

  it('says which lines were not found, the closest line and its text, with a hint', () => {
    const file = 'import x\n\nfunction main() {\n  const total = 1\n  return total\n}\n'
    const error = patchError(() =>
      applyUpdate(file, '@@ function main() {\n   const total = 1\n-  return totl\n+  return total + 1\n'),
    )
    expect(error.message).toContain(
      "line 1: the hunk's context and removed lines were not found in the file after line 3",
    )
    expect(error.message).toContain('"-  return totl"')
    expect(error.message).toContain(
      'The closest match starts at line 4: line 5 reads "  return total" where "  return totl" was expected.',
    )
    expect(error.hint).toMatch(/read_file.*regenerate the hunk/)
  })

  it('names the most similar line when nothing matches', () => {
    const error = patchError(() => applyUpdate('alpha\nbravo\ncharlie\n', '@@\n-brav0\n+b\n'))
    expect(error.message).toContain('The most similar line is line 2: "bravo".')
  })

  it('explains hunks given out of order', () => {
    const error = patchError(() => applyUpdate('a\nb\nc\nd\n', '@@\n c\n-d\n@@\n a\n-b\n'))
    expect(error.message).toMatch(
      /^line 4: .*after line 4:.*They do appear at line 1, above where this hunk may start/s,
    )
  })

  it('requires every header of a multi-@@ hunk and explains a missing one', () => {
    const file = 'class A:\n  def f(self):\n    pass\n'
    const diff = '@@ class B:\n@@   def f(self):\n-    pass\n+    return 1\n'
    const error = patchError(() => applyUpdate(file, diff))
    expect(error.message).toContain('the header "@@ class B:" names a line that is not in the file')
    expect(error.message).toContain('The most similar line is line 1: "class A:"')
    expect(() => applyDiff(file, diff)).toThrow()
  })

  it('reports overlapping hunks', () => {
    const diff = '@@\n a\n-b\n+B\n c\n@@\n-b\n c\n*** End of File\n'
    expect(() => applyDiff('a\nb\nc', diff)).toThrow(/overlapping/)
    expect(patchError(() => applyUpdate('a\nb\nc', diff)).message).toMatch(
      /^line 6: this hunk changes line 2, inside or above/,
    )
  })

  it('reports structural errors with the diff line', () => {
    expect(patchError(() => applyUpdate('a\n', '@@\n a\n?b\n')).message).toMatch(
      /^line 3: expected a hunk line/,
    )
  })
})

describe('applyCreate', () => {
  it('joins + lines without a final newline, as applyDiff create mode', () => {
    expect(applyCreate('+line one\n+line two\n')).toBe('line one\nline two')
    expect(applyDiff('', '+line one\n+line two\n', 'create')).toBe('line one\nline two')
    expect(applyCreate('+a\r\n+\r\n+b')).toBe('a\n\nb')
    expect(applyCreate('')).toBe('')
  })

  it('stops at a file header or End Patch, as applyDiff does', () => {
    expect(applyCreate('+a\n*** End Patch\nnot read')).toBe('a')
    expect(applyCreate('+a\n*** Update File: b\n@@')).toBe('a')
  })

  it('rejects lines without +', () => {
    const error = patchError(() => applyCreate('+a\n\n+b\n'))
    expect(error.message).toBe(
      'line 2: expected "+" at the start of every line of an added file (a lone "+" for an empty line), got "".',
    )
    expect(() => applyDiff('', '+a\n\n+b\n', 'create')).toThrow()
  })
})

describe('planPatch', () => {
  const files: Record<string, string> = {
    'src/a.ts': 'export const a = 1\nexport const b = 2\n',
    'old.txt': 'bye\n',
    'crlf.txt': 'one\r\ntwo\r\n',
    'taken.txt': 'here\n',
  }
  const read = (path: string): string | null => files[path] ?? null

  it('computes every change and a summary', async () => {
    const plan = await planPatch(
      patch(
        '*** Add File: notes.md',
        '+# Notes',
        '*** Update File: src/a.ts',
        '@@',
        ' export const a = 1',
        '-export const b = 2',
        '+export const b = 3',
        '*** Delete File: old.txt',
        '*** Update File: crlf.txt',
        '*** Move to: lf/moved.txt',
        '@@',
        '-two',
        '+2',
      ),
      read,
    )
    expect(plan.changes).toEqual([
      { path: 'notes.md', before: null, after: '# Notes\n' },
      { path: 'src/a.ts', before: files['src/a.ts'], after: 'export const a = 1\nexport const b = 3\n' },
      { path: 'old.txt', before: 'bye\n', after: null },
      { path: 'lf/moved.txt', before: 'one\r\ntwo\r\n', after: 'one\r\n2\r\n', movedFrom: 'crlf.txt' },
    ])
    expect(plan.summary).toBe(
      'Created notes.md\nUpdated src/a.ts\nDeleted old.txt\nUpdated crlf.txt and moved it to lf/moved.txt',
    )
  })

  it('reads every touched path once, through an async reader', async () => {
    const reads: string[] = []
    const plan = await planPatch(
      patch('*** Update File: src/a.ts', '*** Move to: b.ts', '*** Add File: c', '+c'),
      async (p) => {
        reads.push(p)
        return read(p)
      },
    )
    expect(reads.sort()).toEqual(['b.ts', 'c', 'src/a.ts'])
    expect(plan.changes[0]).toEqual({
      path: 'b.ts',
      before: files['src/a.ts'],
      after: files['src/a.ts'],
      movedFrom: 'src/a.ts',
    })
  })

  it('treats a move onto the same path as an update', async () => {
    const plan = await planPatch(
      patch('*** Update File: old.txt', '*** Move to: ./old.txt', '@@', '-bye', '+hi'),
      read,
    )
    expect(plan).toEqual({
      changes: [{ path: 'old.txt', before: 'bye\n', after: 'hi\n' }],
      summary: 'Updated old.txt',
    })
  })

  it.each([
    [
      'adding a file that exists',
      patch('*** Add File: old.txt', '+x'),
      'line 2: cannot add old.txt: the file already exists.',
    ],
    [
      'updating a missing file',
      patch('*** Add File: n', '+n', '*** Update File: nope.ts', '@@', '-x'),
      'line 4: cannot update nope.ts: the file does not exist.',
    ],
    [
      'deleting a missing file',
      patch('*** Delete File: gone'),
      'line 2: cannot delete gone: the file does not exist.',
    ],
    [
      'two operations on one file',
      patch('*** Delete File: old.txt', '*** Update File: ./src/../old.txt', '@@', '-bye'),
      'line 3: ./src/../old.txt is already changed by the operation at line 2; a patch may change each file once.',
    ],
    [
      'a move onto a path another operation adds',
      patch('*** Add File: new.txt', '+n', '*** Update File: old.txt', '*** Move to: new.txt'),
      'line 4: new.txt is already changed by the operation at line 2',
    ],
    [
      'a move onto an existing file',
      patch('*** Update File: old.txt', '*** Move to: taken.txt'),
      'line 3: cannot move old.txt to taken.txt: taken.txt already exists.',
    ],
    [
      'a hunk that does not apply',
      patch(
        '*** Delete File: taken.txt',
        '*** Update File: src/a.ts',
        '@@',
        ' export const a = 1',
        '-export const b = 4',
      ),
      "src/a.ts: line 4: the hunk's context and removed lines were not found in the file:",
    ],
  ])('rejects %s and names the file', async (_, text, message) => {
    const error = await planError(planPatch(text, read))
    expect(error.message).toContain(message)
  })

  it('rejects parse errors before reading anything', async () => {
    const reads: string[] = []
    await planError(
      planPatch(patch('*** Delete File: old.txt', 'junk'), (p) => {
        reads.push(p)
        return read(p)
      }),
    )
    expect(reads).toEqual([])
  })

  it('passes errors from read through unchanged', async () => {
    const failure = new Error('outside the workspace')
    const plan = planPatch(patch('*** Delete File: old.txt', '*** Delete File: ../x'), (p) => {
      if (p === '../x') throw failure
      return read(p)
    })
    await expect(plan).rejects.toBe(failure)
  })
})

describe('editText', () => {
  it('replaces a unique match', () => {
    expect(editText('a\nb\nc\n', 'b\n', 'B\nB2\n')).toEqual({ content: 'a\nB\nB2\nc\n', replacements: 1 })
  })

  it('inserts replacement text literally ($ patterns included)', () => {
    expect(editText('x = 1', '1', "'$&$1$$'")).toEqual({ content: "x = '$&$1$$'", replacements: 1 })
  })

  it('lists every match when old_text is ambiguous', () => {
    const error = patchError(() => editText('foo()\nbar\nfoo()\n\nfoo()\n', 'foo()', 'baz()'))
    expect(error.message).toBe('old_text matches 3 times, at lines 1, 3, 5; it must match exactly once.')
    expect(error.hint).toMatch(/surrounding lines.*replace_all/)
  })

  it('replaces every match with replaceAll', () => {
    expect(editText('foo foo\nfoo\n', 'foo', 'bar', { replaceAll: true })).toEqual({
      content: 'bar bar\nbar\n',
      replacements: 3,
    })
  })

  it('refuses an empty old_text', () => {
    expect(patchError(() => editText('abc', '', 'x')).message).toContain('old_text is empty')
  })

  it('keeps CRLF files CRLF and accepts LF in old_text and new_text', () => {
    expect(editText('one\r\ntwo\r\nthree\r\n', 'one\ntwo\n', 'uno\ndos\n')).toEqual({
      content: 'uno\r\ndos\r\nthree\r\n',
      replacements: 1,
    })
    expect(editText('one\r\ntwo\r\n', 'one\r\ntwo', '1\r\n2').content).toBe('1\r\n2\r\n')
  })

  it('keeps a BOM', () => {
    expect(editText('\uFEFFhello\n', 'hello', 'bye').content).toBe('\uFEFFbye\n')
  })

  it('says when old_text matches only with other line endings', () => {
    const error = patchError(() => editText('a\r\nb\nc\r\nd\n', 'c\nd', 'x'))
    expect(error.message).toContain(
      'matches at line 3 when differences in line endings (CRLF/LF) are ignored',
    )
    expect(error.message).toContain('  3: "c\\r"')
  })

  it('says when old_text matches only without trailing whitespace', () => {
    const error = patchError(() => editText('a\nfoo();   \nbar\n', 'foo();\nbar', 'x'))
    expect(error.message).toContain('matches at line 2 when differences in trailing whitespace are ignored')
    expect(error.hint).toMatch(/read_file.*exactly/)
  })

  it('says when old_text matches only with other indentation', () => {
    const error = patchError(() => editText('if x:\n\tif y:\n\t\treturn 1\n', 'if y:\n    return 1\n', 'x'))
    expect(error.message).toContain(
      'matches at line 2 when differences in indentation and surrounding whitespace are ignored',
    )
    expect(error.message).toContain('  3: "\\t\\treturn 1"')
  })

  it('shows the closest line when old_text is not there at all', () => {
    const error = patchError(() =>
      editText('const a = 1\nconst b = 2\nconst c = 3\n', 'const b = 2\nconst c = 4', 'x'),
    )
    expect(error.message).toBe(
      'old_text was not found in the file. The closest match starts at line 2: line 3 reads "const c = 3" where "const c = 4" was expected.',
    )
  })
})

/**
 * Hand-written differential cases: applyUpdate must equal applyDiff wherever applyDiff succeeds and
 * throw a PatchError wherever it throws. Each case is [original, diff]; they probe the corners of
 * applyDiff's semantics (anchors, End of File, whitespace tolerance, line endings, odd markers).
 */
const corpus: Array<[string, string]> = [
  ['a\nb\nc\n', '@@\n a\n-b\n+B\n c\n'],
  ['a\nb\nc', '@@\n-c\n+C\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n-c\n+C\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n c\n-\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n c\n \n'],
  ['a\nb\nc\n', '@@\n c\n-\n+x\n+\n'],
  ['x\nx\nx\n', '@@\n-x\n+y\n*** End of File\n'],
  ['x\nx\nx\n', '@@\n-x\n+y\n@@\n-x\n+z\n'],
  ['x\ny\nx\ny\n', '@@ y\n-x\n+X\n'],
  ['x\ny\nx\ny\n', '@@ x\n@@ y\n-x\n+X\n'],
  ['x\ny\nx\ny\n', '@@ y\n@@ y\n-x\n+X\n'],
  ['a\nb\n', '@@ nowhere\n-b\n+c\n'],
  ['a\nb\n', '@@ nowhere\n@@ b\n+c\n'],
  ['a\nb\n', '@@\n@@ b\n+c\n'],
  ['a\nb\n', '@@   \n-a\n'],
  ['  a\nb\n', '@@ a\n-b\n+c\n'],
  ['a\n  b\na\n', '@@   b  \n-a\n+c\n'],
  ['x\n  a\nx\n', '@@ a\n-x\n+y\n'],
  ['x\na  \nx\n', '@@ a\n-x\n+y\n'],
  ['a\nb\nc\n', '@@ c\n+d\n'],
  ['a\nb\nc\n', '@@ c\n+d\n*** End of File\n'],
  ['a\nb\nc\n', '+top\n'],
  ['a\nb\nc\n', '+top\n*** End of File\n'],
  ['', '+only\n'],
  ['', '@@\n+only\n*** End of File\n'],
  ['', '@@\n-\n+x\n'],
  ['\n', '@@\n-\n+x\n'],
  ['a', '@@\n-a\n'],
  ['a\tb  \n', '@@\n-a\tb\n+c\n'],
  ['  a  \n', '@@\n-a\n+b\n'],
  ['a\n\nb\n', '@@\n a\n\n-b\n'],
  ['a\n\nb\n', '@@\n a\n-\n b\n'],
  ['a\r\nb\r\n', '@@\r\n a\r\n-b\r\n+c\r\n'],
  ['a\r\nb\r\n', '@@\n-a\n+1\n+2\n'],
  ['a\r\nb\n', '@@\n-a\n+1\n'],
  ['a\nb\r\n', '@@\n-b\n+c\n'],
  ['a\r\n', '@@\n-a\r\r\n+b\n'],
  ['a\rb\n', '@@\n-a\rb\n+c\n'],
  ['a\nb\nc\nd\n', '@@\n b\n-c\n+C\n d\n@@\n-a\n'],
  ['a\nb\nc\nd\n', '@@\n-a\n+A\n@@\n-b\n+B\n@@\n-c\n@@\n-d\n'],
  ['a\nb\nc\nd\n', '@@\n-a\n+A\n-b\n+B\n c\n-d\n+D\n'],
  ['a\nb\nc\n', '@@\n a\n-b\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n-c\n*** End of File\n@@\n-a\n'],
  ['a\nb\nc\n', '@@\n-a\n*** End of File\n@@\n-c\n'],
  ['a\nb\nc\n', '@@\n-a\n*** End of File\n-c\n'],
  ['a\nb\nc\n', '@@\n-a\n*** End of File\n*** End of File\n-c\n'],
  ['a\nb\nc\n', '@@\n-a\n*** End of File  \n@@\n-c\n'],
  ['a\nb\nc\n', '@@\n-a\n*** End Patch\n@@\n-c\n'],
  ['a\nb\nc\n', '@@\n-a\n*** Update File: x\n-c\n'],
  ['a\nb\nc\n', '*** End of File\n-a\n'],
  ['a\nb\nc\n', '@@\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n*** End of File\n+d\n'],
  ['a\nb\nc\n', '@@\n'],
  ['a\nb\nc\n', '@@ a\n'],
  ['a\nb\nc\n', '@@@\n-a\n'],
  ['a\nb\nc\n', '@@a\n-a\n'],
  ['a\nb\nc\n', '@@\n-a\n***\n'],
  ['a\nb\nc\n', '+x\n***\n'],
  ['a\nb\nc\n', '***\n'],
  ['a\nb\nc\n', '@@\n-a\n*** Move to: b\n'],
  ['a\nb\nc\n', '@@\n-a\nb\n'],
  ['a\nb\nc\n', ' a\n-b\n c\n'],
  ['a\nb\nc\n', ' a\n-b\n@@\n c\n'],
  ['a\nb\nc\n', ' a\n-b\n c\n a\n'],
  ['a\nb\nc\n', '@@\n-x\n'],
  ['a\nb\nc\n', '@@\n-x\n*** End of File\n'],
  ['a\nb\nc\n', '@@\n-c\n \n*** End of File\n'],
  ['a\nb\nc\n', '@@\n-b\n-c\n-\n'],
  ['a\nb\nc\n', '@@\n+x\n-a\n+y\n-b\n'],
  ['a\nb\nc\n', '-a\n+b\n-b\n+a\n'],
  ['a\nb\nc\n', '@@ b\n@@ a\n+x\n'],
  ['a\nb\nc\n', '@@ a\n@@ a\n+x\n'],
  ['a\nb\na\n', '@@ b\n@@ a\n+x\n'],
  ['a\nb\nc\n', '@@ c\n@@\n-a\n'],
  ['a\nb\nc\n', '@@ c\n-a\n'],
  ['a\nb\nc\n', '@@\n-c\n@@ a\n+x\n'],
  ['a\nb\nc\n', '@@\n-c\n@@ a\n-b\n'],
  ['f(x)\n  g(x)\n', '@@\n-f(x)\n+f(y)\n-g(x)\n'],
  ['\u00a0a\n', '@@\n-a\n+b\n'],
  ['\uFEFFa\n', '@@\n-a\n+b\n'],
  ['a\n', '@@\n-\uFEFFa\n+b\n'],
  ['*** End Patch\nb\n', '@@\n *** End Patch\n-b\n'],
  ['@@\nb\n', '@@ @@\n-b\n'],
]

describe('differential: hand-written corpus against applyDiff', () => {
  // The one deliberate difference: a leading BOM is set aside, the rest applied as applyDiff does.
  it.each(corpus)('applyUpdate(%j, %j)', (original, diff) => {
    const bom = original.startsWith('\uFEFF') ? '\uFEFF' : ''
    let expected: string | undefined
    try {
      expected = bom + applyDiff(original.slice(bom.length), diff)
    } catch {
      expected = undefined
    }
    if (expected === undefined) patchError(() => applyUpdate(original, diff))
    else expect(applyUpdate(original, diff)).toBe(expected)
  })
})
