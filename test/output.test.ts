import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_BYTES,
  looksBinary,
  OutputCollector,
  type OutputLimits,
  type ShapedText,
  shapeText,
  stripAnsi,
  truncateMiddle,
} from '../src/output.js'

const encoder = new TextEncoder()
const bytesOf = (s: string) => encoder.encode(s).length
const decodeStrict = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b)

/** Splits `input` at the given cut points (string: code units, bytes: bytes) — anywhere, surrogate pairs included. */
function chunk<T extends string | Uint8Array>(input: T, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b)
  const pieces: T[] = []
  let from = 0
  for (const to of [...points, input.length]) {
    pieces.push(input.slice(from, to) as T)
    from = to
  }
  return pieces
}

function collect(chunks: (string | Uint8Array)[], limits?: OutputLimits): ShapedText {
  const collector = new OutputCollector(limits)
  for (const c of chunks) collector.push(c)
  return collector.finish()
}

const MARKER =
  /(?<=^|\n)\[\.\.\. (.+) omitted; showing first ([\d,]+) and last ([\d,]+) of ([\d,]+) lines? \.\.\.\]\n/
const num = (s: string | undefined) => Number(s?.replaceAll(',', ''))

/**
 * Splits a shaped text made with the full marker into head, marker, error block and tail. The
 * newline before the marker is the head's own when the input continues with one, else added.
 */
function parse(text: string, input: string) {
  const m = MARKER.exec(text)
  if (!m) throw new Error(`no marker in ${JSON.stringify(text.slice(0, 200))}`)
  const before = text.slice(0, m.index)
  const head = input.startsWith(before) ? before : before.slice(0, -1)
  const afterMarker = text.slice(m.index + m[0].length)
  const errors =
    /^\[\.\.\. (\d+) of ([\d,]+) error-like lines? from the omitted part:\n([\s\S]*?)\.\.\.\]\n/.exec(
      afterMarker,
    )
  return {
    head,
    marker: m[0],
    what: m[1]!,
    shownHead: num(m[2]),
    shownTail: num(m[3]),
    totalLines: num(m[4]),
    errorLines: errors ? errors[3]!.split('\n').filter(Boolean) : [],
    errorsKept: errors ? num(errors[1]) : 0,
    errorsTotal: errors ? num(errors[2]) : 0,
    tail: errors ? afterMarker.slice(errors[0].length) : afterMarker,
  }
}

const numbered = (n: number, line: (i: number) => string = (i) => `line ${i + 1} of the build log`) =>
  Array.from({ length: n }, (_, i) => `${line(i)}\n`).join('')

describe('shapeText under the cap', () => {
  it('returns the text unchanged', () => {
    const text = 'hello\n\tworld — données 😀\nno newline at the end'
    expect(shapeText(text)).toEqual({
      text,
      truncated: false,
      totalBytes: bytesOf(text),
      totalLines: 3,
      omittedBytes: 0,
      omittedLines: 0,
      binary: false,
    })
  })

  it('returns exactly maxBytes bytes unchanged, and cuts one byte more', () => {
    const text = numbered(1000).slice(0, DEFAULT_MAX_BYTES)
    expect(bytesOf(text)).toBe(DEFAULT_MAX_BYTES)
    expect(shapeText(text).text).toBe(text)
    expect(shapeText(text).truncated).toBe(false)
    expect(shapeText(`${text}x`).truncated).toBe(true)
  })

  it('strips ANSI colours, cursor moves, OSC titles and hyperlinks, keeping the text', () => {
    const text =
      '\x1b[1;31merror\x1b[0m: \x1b[4mbad\x1b[24m\n' +
      '\x1b]0;my title\x07\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\\n' +
      '\x1b[2K\x1b[1Gdone \x1b(B\x1b=ok\x9b31mC1\n'
    expect(shapeText(text).text).toBe('error: bad\nlink\ndone okC1\n')
  })

  it('counts lines and bytes: empty, trailing newline, no trailing newline', () => {
    expect(shapeText('')).toMatchObject({ text: '', totalLines: 0, totalBytes: 0, truncated: false })
    expect(shapeText('a\nb\n').totalLines).toBe(2)
    expect(shapeText('a\nb').totalLines).toBe(2)
    expect(shapeText('\n').totalLines).toBe(1)
  })
})

describe('stripAnsi', () => {
  it.each([
    ['SGR colours', 'a\x1b[31;1mb\x1b[0mc', 'abc'],
    ['CRLF becomes LF', 'a\r\nb\r\n', 'a\nb\n'],
    ['lone CR (progress bars) becomes LF', '10%\r50%\r100%\n', '10%\n50%\n100%\n'],
    ['CR, erase line, LF is one break', 'x\r\x1b[K\ny', 'x\ny'],
    ['keeps tabs and newlines, drops other controls', 'a\tb\n\x00c\x07d\x08e\x7f\x85f', 'a\tb\ncdef'],
    ['OSC ended by BEL', 'a\x1b]0;title\x07b', 'ab'],
    ['OSC ended by ST', 'a\x1b]8;;http://x\x1b\\b', 'ab'],
    ['DCS, APC, PM, SOS', 'a\x1bPq#0\x1b\\b\x1b_apc\x1b\\c\x1b^pm\x1b\\d\x1bXsos\x1b\\e', 'abcde'],
    ['unterminated OSC stops at the line end', 'a\x1b]0;never ends\nb', 'a\nb'],
    ['charset designation and keypad modes', 'a\x1b(Bb\x1b)0c\x1b=d\x1b>e\x1b7f\x1b8g', 'abcdefg'],
    ['private CSI', 'a\x1b[?25lb\x1b[?2004hc', 'abc'],
    ['malformed CSI keeps the offending character', 'a\x1b[12\nb', 'a\nb'],
    ['ESC before a non-ASCII character', 'a\x1bé', 'aé'],
    ['8-bit CSI and OSC', 'a\x9b1mb\x9d0;t\x9cc', 'abc'],
  ])('%s', (_name, input, expected) => {
    expect(stripAnsi(input)).toBe(expected)
  })

  it('gives the same result whatever the chunking (sequences split across chunks)', () => {
    const text = 'x\x1b[38;5;196mred\x1b[0m\r\n\x1b]8;;http://a\x1b\\l\x1b]8;;\x1b\\\r\ny\x1bPdcs\x1b\\z\n'
    for (let size = 1; size <= 4; size++) {
      const pieces = text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!
      expect(collect(pieces).text).toBe(stripAnsi(text))
    }
  })
})

describe('truncation', () => {
  const log = numbered(5000)

  it('keeps head and tail at line boundaries with a marker that states what was cut', () => {
    const r = shapeText(log, { maxBytes: 4000 })
    expect(r.truncated).toBe(true)
    expect(bytesOf(r.text)).toBeLessThanOrEqual(4000)
    const p = parse(r.text, log)
    expect(log.startsWith(p.head)).toBe(true)
    expect(log.endsWith(p.tail)).toBe(true)
    expect(p.head.endsWith('\n')).toBe(true)
    expect(p.tail.startsWith('line ')).toBe(true)
    // The numbers are exact.
    expect(p.totalLines).toBe(5000)
    expect(p.shownHead).toBe(p.head.split('\n').length - 1)
    expect(p.shownTail).toBe(p.tail.split('\n').length - 1)
    expect(r.omittedLines).toBe(5000 - p.shownHead - p.shownTail)
    expect(r.omittedBytes).toBe(bytesOf(log) - bytesOf(p.head) - bytesOf(p.tail))
    expect(p.what).toBe(
      `${r.omittedLines.toLocaleString('en-US')} lines (${r.omittedBytes.toLocaleString('en-US')} bytes)`,
    )
    expect(r).toMatchObject({ totalLines: 5000, totalBytes: bytesOf(log), binary: false })
  })

  it('gives the tail more room than the head by default, and follows headRatio', () => {
    const byDefault = parse(shapeText(log, { maxBytes: 4000 }).text, log)
    expect(bytesOf(byDefault.tail)).toBeGreaterThan(bytesOf(byDefault.head))
    const headHeavy = parse(shapeText(log, { maxBytes: 4000, headRatio: 0.9 }).text, log)
    expect(bytesOf(headHeavy.head)).toBeGreaterThan(3 * bytesOf(headHeavy.tail))
    const tailOnly = parse(shapeText(log, { maxBytes: 4000, headRatio: 0 }).text, log)
    expect(tailOnly.head).toBe('')
    expect(tailOnly.shownHead).toBe(0)
  })

  it('cuts inside a line when no line boundary is close', () => {
    const text = 'x'.repeat(100_000)
    const r = shapeText(text, { maxBytes: 1000 })
    const p = parse(r.text, text)
    expect(p.what).toBe(`${r.omittedBytes.toLocaleString('en-US')} bytes`)
    expect(p.head.length + p.tail.length + r.omittedBytes).toBe(100_000)
    expect(r.omittedLines).toBe(0)
    expect(bytesOf(r.text)).toBeLessThanOrEqual(1000)
    expect(bytesOf(r.text)).toBeGreaterThan(900)
  })

  it('falls back to a compact marker when the budget is too small for the full one', () => {
    // 12 bytes: 3 for '…', 40% of the other 9 for the head.
    const r = shapeText('abcdefghijklmnopqrstuvwxyz', { maxBytes: 12 })
    expect(r.text).toBe('abc…uvwxyz')
    expect(r.truncated).toBe(true)
    expect(shapeText('abcdef', { maxBytes: 0 }).text).toBe('')
  })

  it('rejects invalid limits', () => {
    expect(() => shapeText('x', { maxBytes: -1 })).toThrow(RangeError)
    expect(() => shapeText('x', { maxBytes: Number.NaN })).toThrow(RangeError)
    expect(() => shapeText('x', { maxBytes: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => shapeText('x', { headRatio: 1.5 })).toThrow(RangeError)
  })
})

describe('error lines from the cut middle', () => {
  it('keeps them with their line numbers, inside the omitted region', () => {
    const errors: Record<number, string> = {
      1200: "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
      2400: 'Traceback (most recent call last):',
      3100: "thread 'main' panicked at src/main.rs:2:5",
      3500: 'FAIL test/a.test.ts > adds',
    }
    const log = numbered(5000, (i) => errors[i + 1] ?? `ok ${i + 1}`)
    const r = shapeText(log, { maxBytes: 4000 })
    const p = parse(r.text, log)
    expect(p.errorLines).toEqual(Object.entries(errors).map(([line, text]) => `L${line}: ${text}`))
    expect(p.errorsKept).toBe(4)
    expect(p.errorsTotal).toBe(4)
    expect(bytesOf(r.text)).toBeLessThanOrEqual(4000)
    expect(log.startsWith(p.head) && log.endsWith(p.tail)).toBe(true)
  })

  it('does not repeat error lines that the head or the tail shows', () => {
    const log = numbered(3000, (i) => (i === 1 || i === 2998 ? `Error: at line ${i + 1}` : `ok ${i + 1}`))
    const p = parse(shapeText(log, { maxBytes: 3000 }).text, log)
    expect(p.head).toContain('Error: at line 2')
    expect(p.tail).toContain('Error: at line 2999')
    expect(p.errorLines).toEqual([])
  })

  it('is bounded: at most 20 lines and 15% of the budget, earliest and latest first', () => {
    const log = numbered(20_000, (i) =>
      i % 50 === 0 ? `ERROR something failed at step ${i + 1}` : `step ${i + 1}`,
    )
    const r = shapeText(log, { maxBytes: DEFAULT_MAX_BYTES })
    const p = parse(r.text, log)
    expect(p.errorLines.length).toBeGreaterThan(5)
    expect(p.errorLines.length).toBeLessThanOrEqual(20)
    const blockBytes = bytesOf(p.errorLines.join('\n')) + 100
    expect(blockBytes).toBeLessThanOrEqual(0.15 * DEFAULT_MAX_BYTES + 100)
    const lineNumbers = p.errorLines.map((l) => Number(/^L(\d+):/.exec(l)![1]))
    expect(lineNumbers).toEqual([...lineNumbers].sort((a, b) => a - b))
    // The first and the last error lines of the omitted part are among them.
    const firstOmitted = p.shownHead + 1
    const lastOmitted = 20_000 - p.shownTail
    const middleErrors = Array.from({ length: 400 }, (_, k) => k * 50 + 1).filter(
      (n) => n >= firstOmitted && n <= lastOmitted,
    )
    expect(lineNumbers[0]).toBe(middleErrors[0])
    expect(lineNumbers.at(-1)).toBe(middleErrors.at(-1))
    expect(p.errorsTotal).toBe(middleErrors.length)
    expect(p.errorsKept).toBe(lineNumbers.length)
  })

  it('recognizes the usual error shapes and shortens long error lines', () => {
    const shapes = [
      'error: could not compile',
      'ERROR in ./src/index.ts',
      'npm ERR! code ELIFECYCLE',
      'TypeError: x is not a function',
      'java.lang.IllegalStateException: boom',
      'fatal: not a git repository',
      'panic: runtime error: index out of range',
      'Segmentation fault (core dumped)',
      '  ✗ renders the page',
      '=== 2 failed, 10 passed ===',
      `error: ${'very long '.repeat(100)}`,
    ]
    const log = numbered(4000, (i) =>
      i >= 2000 && i < 2000 + shapes.length ? shapes[i - 2000]! : `fine ${i}`,
    )
    const p = parse(shapeText(log, { maxBytes: 8000 }).text, log)
    expect(p.errorLines.map((l) => l.replace(/^L\d+: /, '').slice(0, 30))).toEqual(
      shapes.map((s) => s.slice(0, 30)),
    )
    const long = p.errorLines.at(-1)!
    expect(bytesOf(long)).toBeLessThanOrEqual(220)
    expect(long.endsWith('…')).toBe(true)
  })

  it('can be turned off', () => {
    const log = numbered(5000, (i) => (i === 2500 ? 'error TS1005: ; expected' : `ok ${i}`))
    const p = parse(shapeText(log, { maxBytes: 4000, keepErrorLines: false }).text, log)
    expect(p.errorLines).toEqual([])
  })
})

describe('binary output', () => {
  it('replaces binary output by a one-line note', () => {
    const bytes = new Uint8Array(12345).map((_, i) => (i * 7919) % 256)
    expect(shapeText(bytes)).toEqual({
      text: '[binary output: 12,345 bytes, not shown]',
      truncated: true,
      totalBytes: 12345,
      totalLines: 0,
      omittedBytes: 12345,
      omittedLines: 0,
      binary: true,
    })
  })

  it('detects NUL bytes, random bytes, UTF-16 and images but not text', () => {
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ])
    expect(looksBinary(png)).toBe(true)
    expect(looksBinary(new Uint8Array([0x61, 0x00, 0x62]))).toBe(true)
    expect(looksBinary(new Uint8Array(Buffer.from('hello world', 'utf16le')))).toBe(true)
    const noNul = new Uint8Array(4096).map((_, i) => ((i * 2654435761) >>> 24) | 1)
    expect(looksBinary(noNul)).toBe(true)

    expect(looksBinary(new Uint8Array())).toBe(false)
    expect(looksBinary(encoder.encode('plain text\twith tabs\r\nand CRLF\n'))).toBe(false)
    expect(looksBinary(encoder.encode('\x1b[31mcoloured\x1b[0m \x1b]0;title\x07 日本語 😀'))).toBe(false)
    // Latin-1 text: a few invalid bytes are not enough.
    expect(
      looksBinary(new Uint8Array(Buffer.from('Les données du café sont prêtes. '.repeat(20), 'latin1'))),
    ).toBe(false)
  })

  it('counts replacement characters (binary already decoded upstream) as suspicious', () => {
    const decodedBinary = new TextDecoder().decode(new Uint8Array(3000).map((_, i) => 0x80 + (i % 100)))
    expect(looksBinary(encoder.encode(decodedBinary))).toBe(true)
    expect(shapeText(decodedBinary).binary).toBe(true)
  })

  it('does not count an incomplete code point at the very end (a prefix of a stream)', () => {
    const emoji = encoder.encode('😀')
    expect(looksBinary(emoji.subarray(0, 3))).toBe(false)
    expect(looksBinary(encoder.encode('ab😀').subarray(0, 4))).toBe(false)
  })

  it('decides on the first 8 KiB, whatever the chunking, and stops keeping text', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i % 3 === 0 ? 0 : 65))
    const collector = new OutputCollector({ maxBytes: 1000 })
    for (let i = 0; i < bytes.length; i += 777) collector.push(bytes.subarray(i, i + 777))
    expect(collector.snapshot()).toBe('[binary output: 100,000 bytes, not shown]')
    expect(collector.finish()).toEqual(shapeText(bytes, { maxBytes: 1000 }))
    expect(collector.finish().binary).toBe(true)
    // Text first: a NUL far after the sample is just a stripped control character.
    const late = encoder.encode(`${'text\n'.repeat(2000)}\0tail\n`)
    expect(shapeText(late, { maxBytes: 100_000 }).text).toBe(`${'text\n'.repeat(2000)}tail\n`)
  })
})

describe('UTF-8 safety', () => {
  it('never cuts inside a code point', () => {
    for (const unit of ['é', '日', '😀', 'a😀b', 'e\u0301']) {
      const text = unit.repeat(5000)
      for (const maxBytes of [7, 50, 333, 1000, 1001, 1002, 1003]) {
        const out = shapeText(text, { maxBytes }).text
        expect(bytesOf(out)).toBeLessThanOrEqual(maxBytes)
        expect(decodeStrict(encoder.encode(out))).toBe(out)
        expect(out).not.toContain('\uFFFD')
        expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/)
      }
    }
  })

  it('joins code points split across byte chunks and surrogate pairs split across string chunks', () => {
    const text = 'données 😀 日本語\n'.repeat(50)
    const bytes = encoder.encode(text)
    const oneByteChunks = Array.from(bytes, (b) => new Uint8Array([b]))
    expect(collect(oneByteChunks).text).toBe(text)
    const oneUnitChunks = text.split('')
    expect(collect(oneUnitChunks).text).toBe(text)
  })

  it('turns invalid and incomplete sequences into U+FFFD', () => {
    const bytes = new Uint8Array([...encoder.encode('some text '), 0xff, 0x62, 0xe2, 0x82])
    expect(shapeText(bytes).text).toBe('some text \uFFFDb\uFFFD')
    expect(collect(['some text \ud83d']).text).toBe('some text \uFFFD')
    expect(collect(['some text \ud83d', new Uint8Array([0x62])]).text).toBe('some text \uFFFDb')
  })
})

describe('truncateMiddle', () => {
  it('leaves short fields alone and cuts long ones in the middle', () => {
    expect(truncateMiddle('short', 10)).toBe('short')
    expect(truncateMiddle('abcdefghijklmnopqrstuvwxyz', 10)).toBe('ab…vwxyz')
    expect(truncateMiddle('😀😀😀😀', 9)).toBe('…😀')
    expect(truncateMiddle('abc', 2)).toBe('bc')
    expect(truncateMiddle('abc', 0)).toBe('')
  })

  it('respects the cap and keeps a prefix and a suffix (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.nat(400), (s, maxBytes) => {
        const out = truncateMiddle(s, maxBytes)
        expect(bytesOf(out)).toBeLessThanOrEqual(maxBytes)
        if (bytesOf(s) <= maxBytes) expect(out).toBe(s)
        else if (maxBytes >= 3 && !s.includes('…')) {
          const [head, tail] = out.split('…') as [string, string]
          expect(s.startsWith(head) && s.endsWith(tail)).toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('OutputCollector', () => {
  it('reports totalBytes, overflowed and a bounded snapshot while streaming', () => {
    const collector = new OutputCollector({ maxBytes: 2000 })
    expect(collector.snapshot()).toBe('')
    collector.push('\x1b[1m')
    collector.push(`${'a'.repeat(1990)}\x1b[0m\n`)
    expect(collector.totalBytes).toBe(4 + 1995)
    expect(collector.overflowed).toBe(false) // 1991 cleaned bytes
    expect(collector.snapshot()).toBe(`${'a'.repeat(1990)}\n`)
    collector.push('b'.repeat(5000))
    expect(collector.overflowed).toBe(true)
    expect(bytesOf(collector.snapshot())).toBeLessThanOrEqual(2000)
    collector.push('\nlast line')
    const r = collector.finish()
    expect(r.text.endsWith('b\nlast line')).toBe(true)
    expect(collector.finish()).toEqual(r)
    expect(() => collector.push('more')).toThrow(/after finish/)
  })

  // Text from an alphabet without '[' and '…' so that the marker can be found in the output.
  const plainUnit = fc.oneof(
    fc.constantFrom(
      'a',
      'b',
      ' ',
      '\n',
      '\r',
      '\t',
      'é',
      '日',
      '😀',
      'line\n',
      'error: x\n',
      'FAIL\n',
      '\x1b',
      '\x07',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '[' && c !== '…'),
  )
  const wildUnit = fc.oneof(
    plainUnit,
    fc.constantFrom('\0', '[', '\x1b[31m', '\x1b]8;;x\x1b\\', '\x9b', '…', '\ud83d', '\ude00', '\uFFFD'),
  )
  const limits = fc.record({
    maxBytes: fc.oneof(fc.nat(40), fc.integer({ min: 150, max: 1500 })),
    headRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    keepErrorLines: fc.boolean(),
  })

  it('respects the cap and equals shapeText for any string and chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: wildUnit, maxLength: 2000, size: 'large' }),
        fc.array(fc.nat(), { maxLength: 12 }),
        limits,
        (s, cuts, l) => {
          const whole = shapeText(s, l)
          const streamed = collect(chunk(s, cuts), l)
          expect(streamed).toEqual(whole)
          expect(bytesOf(whole.text)).toBeLessThanOrEqual(l.maxBytes)
          expect(decodeStrict(encoder.encode(whole.text))).toBe(whole.text)
          expect(whole.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('respects the cap and equals shapeText for any bytes and chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        limits,
        (bytes, cuts, l) => {
          const whole = shapeText(bytes, l)
          expect(collect(chunk(bytes, cuts), l)).toEqual(whole)
          expect(bytesOf(whole.text)).toBeLessThanOrEqual(l.maxBytes)
          expect(whole.binary).toBe(looksBinary(bytes))
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('keeps a prefix and a suffix of the cleaned input, with exact counts (property)', () => {
    const seen = { whole: 0, compact: 0, marker: 0, errors: 0 }
    fc.assert(
      fc.property(fc.string({ unit: plainUnit, maxLength: 2000, size: 'large' }), limits, (s, l) => {
        const r = shapeText(s, l)
        if (r.binary) return
        const clean = stripAnsi(s)
        if (!r.truncated) {
          seen.whole++
          expect(r.text).toBe(clean)
          return
        }
        expect(r.omittedBytes).toBeGreaterThan(0)
        const full = MARKER.test(r.text)
        if (!full && !r.text.includes('…')) return // a budget too small for any marker: bytes only
        seen[full ? 'marker' : 'compact']++
        const p = full ? parse(r.text, clean) : { head: r.text.split('…')[0]!, tail: r.text.split('…')[1]! }
        expect(clean.startsWith(p.head)).toBe(true)
        expect(clean.endsWith(p.tail)).toBe(true)
        expect(r.omittedBytes).toBe(bytesOf(clean) - bytesOf(p.head) - bytesOf(p.tail))
        if ('errorLines' in p) {
          // Every kept error line is a line of the input, with its number.
          const lines = clean.split('\n')
          if (p.errorLines.length > 0) seen.errors++
          for (const e of p.errorLines) {
            const [, n, text] = /^L(\d+): (.*)$/.exec(e)!
            expect(lines[Number(n) - 1]!.startsWith(text!.replace(/…$/, ''))).toBe(true)
          }
        }
      }),
      { numRuns: 1000 },
    )
    // The generators reach every path.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(20)
  })

  it('keeps memory bounded: 50 MB in 64 KiB chunks grows the heap by less than 4 MB', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const chunkSize = 64 * 1024
    // Four different chunks; lines are 61 bytes long so they straddle chunk boundaries, and a
    // multi-byte character and an escape sequence are split between chunks too.
    const source = numbered(8000, (i) =>
      i % 997 === 0
        ? `error: failure number ${i} happened here ok ok ok ok`
        : `\x1b[32m${i}\x1b[0m données 😀 ${'.'.repeat(30)}`,
    )
    const bytes = encoder.encode(source)
    const chunks = [0, 1, 2, 3].map((k) => bytes.slice(k * 1000 + 3, k * 1000 + 3 + chunkSize))
    const total = 50 * 1024 * 1024
    const collector = new OutputCollector()
    gc()
    const before = process.memoryUsage().heapUsed
    for (let sent = 0, k = 0; sent < total; sent += chunkSize, k++) collector.push(chunks[k % 4]!)
    gc()
    const growth = process.memoryUsage().heapUsed - before
    expect(growth).toBeLessThan(4 * 1024 * 1024)
    const r = collector.finish()
    expect(r.totalBytes).toBe(total)
    expect(r.truncated).toBe(true)
    expect(bytesOf(r.text)).toBeLessThanOrEqual(DEFAULT_MAX_BYTES)
    expect(parse(r.text, '').errorLines.length).toBeGreaterThan(0)
  })

  it('keeps memory bounded for a stream of nothing but error lines and for one endless line', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const errors = encoder.encode('error: x\n'.repeat(8000))
    const oneLine = encoder.encode('error '.repeat(12_000))
    for (const chunk of [errors, oneLine]) {
      const collector = new OutputCollector()
      gc()
      const before = process.memoryUsage().heapUsed
      for (let sent = 0; sent < 20 * 1024 * 1024; sent += chunk.length) collector.push(chunk)
      gc()
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024)
      expect(bytesOf(collector.finish().text)).toBeLessThanOrEqual(DEFAULT_MAX_BYTES)
    }
  })
})
