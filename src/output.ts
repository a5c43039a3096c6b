/**
 * Shaping command and tool output for a model: nothing a model receives is unbounded.
 *
 * The text is cleaned (ANSI escape sequences and control characters removed, `\r\n` and lone `\r`
 * turned into `\n`), and when it is larger than the budget the start and the end are kept with a
 * marker in between that says what was cut, plus the error-looking lines from the cut part.
 * Binary streams are replaced by a one-line note. Works as a stream with memory bounded by the
 * budget (not by the output), on Node and in workerd: no `node:` imports.
 */

export interface OutputLimits {
  /** Cap of the shaped text per tool result, in UTF-8 bytes, markers included. Default 16 KiB. */
  maxBytes?: number
  /** Share of the budget kept from the start (0–1); the end gets the rest. Default 0.4. */
  headRatio?: number
  /** Keep lines that look like errors from the cut middle (bounded, with line numbers). Default true. */
  keepErrorLines?: boolean
}

export const DEFAULT_MAX_BYTES = 16 * 1024

export interface ShapedText {
  /** At most `maxBytes` UTF-8 bytes, markers included; cleaned of escape sequences and control characters. */
  text: string
  truncated: boolean
  /** Bytes received (before cleaning). */
  totalBytes: number
  /** Lines of the cleaned text (0 for binary output). */
  totalLines: number
  /** Bytes of the cleaned text not shown (all bytes received for binary output). */
  omittedBytes: number
  /** Lines of the cleaned text of which nothing is shown. */
  omittedLines: number
  /** The stream looked binary: `text` is a one-line note instead of the bytes. */
  binary: boolean
}

// Tails matter more than heads: errors and summaries come last.
const DEFAULT_HEAD_RATIO = 0.4
// Binary detection looks at the start of the stream, as git and grep do.
const BINARY_SAMPLE_BYTES = 8 * 1024
const BINARY_SUSPICIOUS_SHARE = 0.3
// A cut moves back to a line boundary when that gives up at most this share of the part's budget.
const LINE_SNAP_SHARE = 0.25
const MAX_ERROR_LINES = 20
const ERROR_BUDGET_SHARE = 0.15
const ERROR_LINE_MAX_BYTES = 200
// Only the start of a line is searched for error words (lines may be megabytes long).
const ERROR_SCAN_CHARS = 512
// Head and tail are stored one code point beyond the cap, so a cut can see the character next to it.
const GUARD_BYTES = 4
const COMPACT_MARKER = '…'

const ERROR_LINE =
  /\b(?:[Ee]rrors?|ERRORS?|FAIL(?:ED|S|URE)?|[Ff]ail(?:ed|ure)|[Ff]atal|FATAL|[Pp]anic(?:ked)?|PANIC|Traceback|Exception|Segmentation fault)\b|\bERR!|[a-z](?:Error|Exception)\b|[✗✘✕❌]/

const encoder = new TextEncoder()

/** A stream of tool output, shaped for a model. Memory is O(maxBytes) whatever goes through it. */
export class OutputCollector {
  readonly #maxBytes: number
  readonly #headRatio: number
  #text: TextWindow | undefined
  readonly #decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  readonly #stripper = new ControlStripper()
  #totalBytes = 0
  // A high surrogate that ended the last string chunk (its low half comes with the next one).
  #pendingHighSurrogate = ''
  #sample: Uint8Array | undefined = new Uint8Array(BINARY_SAMPLE_BYTES)
  #sampleLength = 0
  #binary: boolean | undefined
  #finished = false

  constructor(limits: OutputLimits = {}) {
    const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES
    const headRatio = limits.headRatio ?? DEFAULT_HEAD_RATIO
    if (!(maxBytes >= 0) || maxBytes === Number.POSITIVE_INFINITY) {
      throw new RangeError(`OutputLimits.maxBytes must be a finite number >= 0, got ${maxBytes}`)
    }
    if (!(headRatio >= 0 && headRatio <= 1)) {
      throw new RangeError(`OutputLimits.headRatio must be between 0 and 1, got ${headRatio}`)
    }
    this.#maxBytes = Math.floor(maxBytes)
    this.#headRatio = headRatio
    this.#text = new TextWindow(this.#maxBytes, limits.keepErrorLines ?? true)
  }

  /** Adds output. Chunks may be split anywhere: mid-line, mid-escape-sequence, mid-code-point. */
  push(chunk: string | Uint8Array): void {
    if (this.#finished) throw new Error('OutputCollector.push() called after finish()')
    if (typeof chunk === 'string') {
      let s = this.#pendingHighSurrogate + chunk
      this.#pendingHighSurrogate = ''
      if (isHighSurrogate(s.charCodeAt(s.length - 1))) {
        this.#pendingHighSurrogate = s.slice(-1)
        s = s.slice(0, -1)
      }
      this.#consume(encoder.encode(s))
    } else {
      this.#flushPendingSurrogate()
      this.#consume(chunk)
    }
  }

  /** Bytes received so far (strings count as their UTF-8 encoding). */
  get totalBytes(): number {
    return this.#totalBytes
  }

  /** The cleaned text is already larger than `maxBytes`: the result will be truncated (false for binary output). */
  get overflowed(): boolean {
    return (this.#text?.bytes ?? 0) > this.#maxBytes
  }

  /** The shaped text so far, for progress UIs. Bounded like the final text. */
  snapshot(): string {
    return this.#render().text
  }

  /** Ends the stream (an incomplete trailing code point becomes U+FFFD) and returns the shaped result. */
  finish(): ShapedText {
    if (!this.#finished) {
      this.#flushPendingSurrogate()
      this.#finished = true
      if (this.#binary === undefined) this.#decide()
      this.#text?.write(this.#stripper.write(this.#decoder.decode()))
      this.#text?.end()
    }
    return this.#render()
  }

  /** A high surrogate that no low one followed is a lone surrogate: U+FFFD, as TextEncoder writes it. */
  #flushPendingSurrogate(): void {
    if (!this.#pendingHighSurrogate) return
    this.#pendingHighSurrogate = ''
    this.#consume(encoder.encode('\uFFFD'))
  }

  #consume(bytes: Uint8Array): void {
    this.#totalBytes += bytes.length
    if (this.#sample) {
      const take = Math.min(bytes.length, BINARY_SAMPLE_BYTES - this.#sampleLength)
      this.#sample.set(bytes.subarray(0, take), this.#sampleLength)
      this.#sampleLength += take
      if (this.#sampleLength === BINARY_SAMPLE_BYTES) this.#decide()
    }
    this.#text?.write(this.#stripper.write(this.#decoder.decode(bytes, { stream: true })))
  }

  /** Settles whether the stream is binary (once: the sample is full or the stream ended). */
  #decide(): void {
    this.#binary = this.#sampleLooksBinary()
    this.#sample = undefined
    if (this.#binary) this.#text = undefined
  }

  #sampleLooksBinary(): boolean {
    return this.#sample !== undefined && looksBinary(this.#sample.subarray(0, this.#sampleLength))
  }

  #render(): ShapedText {
    const totalBytes = this.#totalBytes
    if ((this.#binary ?? this.#sampleLooksBinary()) || !this.#text) {
      const note = `[binary output: ${formatCount(totalBytes, 'byte')}, not shown]`
      return {
        text: truncateMiddle(note, this.#maxBytes),
        truncated: totalBytes > 0,
        totalBytes,
        totalLines: 0,
        omittedBytes: totalBytes,
        omittedLines: 0,
        binary: true,
      }
    }
    return { ...this.#text.shape(this.#headRatio), totalBytes, binary: false }
  }
}

/** One-shot shaping: the same result as pushing `text` into an OutputCollector and finishing. */
export function shapeText(text: string | Uint8Array, limits?: OutputLimits): ShapedText {
  const collector = new OutputCollector(limits)
  collector.push(text)
  return collector.finish()
}

/**
 * Removes ANSI escape sequences (CSI, OSC, DCS…, also 8-bit forms) and control characters, keeping
 * `\n` and `\t`; `\r\n` and a lone `\r` become `\n`.
 */
export function stripAnsi(text: string): string {
  return new ControlStripper().write(text)
}

/**
 * Whether bytes look binary: any NUL byte, or more than 30% suspicious characters (invalid UTF-8,
 * U+FFFD replacement characters, control characters that text does not use). An incomplete code
 * point at the very end is not counted (the bytes may be a prefix of a stream).
 */
export function looksBinary(bytes: Uint8Array): boolean {
  let chars = 0
  let suspicious = 0
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    chars++
    if (b === 0) return true
    if (b < 0x80) {
      // Text uses BEL…CR (\a \b \t \n \v \f \r) and ESC; the other C0 controls and DEL are suspicious.
      if (b < 0x07 || (b > 0x0d && b < 0x20 && b !== 0x1b) || b === 0x7f) suspicious++
      i++
      continue
    }
    const length = utf8SequenceLength(bytes, i)
    if (length === 0) {
      suspicious++
      i++
    } else if (i + length > bytes.length) {
      chars--
      break
    } else {
      if (length === 3 && b === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) suspicious++
      i += length
    }
  }
  return suspicious > chars * BINARY_SUSPICIOUS_SHARE
}

/**
 * Fits a single field into `maxBytes` UTF-8 bytes: unchanged when it fits, else its start and end
 * joined by '…' (cut at line boundaries when close, never inside a code point).
 */
export function truncateMiddle(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text
  const marker = maxBytes >= utf8Length(COMPACT_MARKER) ? COMPACT_MARKER : ''
  const cut = cutMiddle(text, text, maxBytes - utf8Length(marker), DEFAULT_HEAD_RATIO)
  return cut.head + marker + cut.tail
}

// ---------------------------------------------------------------------------------------------

interface ErrorLine {
  line: number
  /** Byte offsets of the line in the cleaned text, `end` after its newline. */
  start: number
  end: number
  text: string
}

interface Cut {
  head: string
  tail: string
}

/**
 * The cleaned text as it streams by: its first and last `maxBytes` (+ a guard), line counts and
 * the error-looking lines that might end up in the cut middle: the first and the last
 * MAX_ERROR_LINES of any middle, which is all that can be shown.
 */
class TextWindow {
  bytes = 0
  #newlines = 0
  #endsWithNewline = false
  #head = ''
  #headBytes = 0
  #headFull = false
  #tail = ''
  #tailBytes = 0
  #lineStart = 0
  #lineScan = ''
  #errorsSeen = 0
  #early: ErrorLine[] = []
  #earlyBeyondHead = 0
  #late: ErrorLine[] = []
  #lateStart = 0

  constructor(
    readonly maxBytes: number,
    readonly keepErrorLines: boolean,
  ) {}

  write(s: string): void {
    if (!s) return
    const start = this.bytes
    let i = 0
    for (;;) {
      const newline = s.indexOf('\n', i)
      const contentEnd = newline === -1 ? s.length : newline
      if (this.keepErrorLines && this.#lineScan.length < ERROR_SCAN_CHARS) {
        this.#lineScan += s.slice(i, Math.min(contentEnd, i + ERROR_SCAN_CHARS - this.#lineScan.length))
      }
      if (newline === -1) {
        this.bytes += utf8Length(s, i)
        break
      }
      this.bytes += utf8Length(s, i, newline + 1)
      this.#newlines++
      this.#endLine(this.#newlines, 1)
      i = newline + 1
    }
    this.#endsWithNewline = s.charCodeAt(s.length - 1) === 0x0a
    this.#keep(s, this.bytes - start)
  }

  /** The stream ended: the last line, if unterminated, is complete now. */
  end(): void {
    if (this.bytes > this.#lineStart) this.#endLine(this.#newlines + 1, 0)
  }

  shape(headRatio: number): Omit<ShapedText, 'totalBytes' | 'binary'> {
    const totalLines = this.bytes === 0 ? 0 : this.#newlines + (this.#endsWithNewline ? 0 : 1)
    if (this.bytes <= this.maxBytes) {
      return { text: this.#head, truncated: false, totalLines, omittedBytes: 0, omittedLines: 0 }
    }
    // The marker's numbers are not known before the cut: reserve room for the largest ones.
    const most = Math.max(totalLines, 2)
    const markerBudget =
      1 +
      utf8Length(
        cutMarker({
          totalLines: most,
          omittedLines: most,
          omittedBytes: this.bytes,
          shownHead: most,
          shownTail: most,
        }),
      )
    const base = this.maxBytes - markerBudget
    if (base < markerBudget) {
      // Too small for a marker that explains itself.
      const marker = this.maxBytes >= utf8Length(COMPACT_MARKER) ? COMPACT_MARKER : ''
      const cut = cutMiddle(this.#head, this.#tail, this.maxBytes - utf8Length(marker), headRatio)
      const { omittedLines, omittedBytes } = this.#counts(cut, totalLines)
      return { text: cut.head + marker + cut.tail, truncated: true, totalLines, omittedLines, omittedBytes }
    }
    let cut = cutMiddle(this.#head, this.#tail, base, headRatio)
    let errors = ''
    if (this.#errorsSeen > 0) {
      // Room for error lines shrinks head and tail, which widens the middle: settle in a few rounds.
      const known = this.#knownErrors()
      const budget = Math.floor(this.maxBytes * ERROR_BUDGET_SHARE)
      let reserve = 0
      for (let round = 0; round < 3; round++) {
        const wanted = utf8Length(this.#errorBlock(known, cut, budget))
        if (wanted <= reserve) break
        reserve = wanted
        cut = cutMiddle(this.#head, this.#tail, base - reserve, headRatio)
      }
      errors = this.#errorBlock(known, cut, reserve)
    }
    // The marker starts on a line of its own: the head's next newline if it comes next, else one added.
    let separator = ''
    if (cut.head && !cut.head.endsWith('\n')) {
      if (this.#head.charCodeAt(cut.head.length) === 0x0a) cut = { head: `${cut.head}\n`, tail: cut.tail }
      else separator = '\n'
    }
    const counts = this.#counts(cut, totalLines)
    return {
      text: cut.head + separator + cutMarker(counts) + errors + cut.tail,
      truncated: true,
      totalLines,
      omittedLines: counts.omittedLines,
      omittedBytes: counts.omittedBytes,
    }
  }

  /** Keeps the start and the end of the text; `sBytes` is the UTF-8 length of `s`. */
  #keep(s: string, sBytes: number): void {
    if (!this.#headFull) {
      const room = this.maxBytes + GUARD_BYTES - this.#headBytes
      const add = prefixByBytes(s, room)
      this.#head += add
      this.#headBytes += utf8Length(add)
      this.#headFull = add.length < s.length
    }
    const keep = this.maxBytes + GUARD_BYTES
    const add = sBytes > keep ? suffixByBytes(s, keep) : s
    this.#tail += add
    this.#tailBytes += add === s ? sBytes : utf8Length(add)
    if (this.#tailBytes > 2 * keep) {
      this.#tail = suffixByBytes(this.#tail, keep)
      this.#tailBytes = utf8Length(this.#tail)
    }
  }

  #endLine(line: number, newlineBytes: number): void {
    if (this.keepErrorLines && ERROR_LINE.test(this.#lineScan)) {
      const lineBytes = this.bytes - this.#lineStart - newlineBytes
      const scanned = this.#lineScan
      const text =
        lineBytes <= ERROR_LINE_MAX_BYTES && utf8Length(scanned) === lineBytes
          ? scanned
          : prefixByBytes(scanned, ERROR_LINE_MAX_BYTES - utf8Length(COMPACT_MARKER)) + COMPACT_MARKER
      this.#addError({ line, start: this.#lineStart, end: this.bytes, text })
    }
    this.#lineStart = this.bytes
    this.#lineScan = ''
  }

  #addError(error: ErrorLine): void {
    this.#errorsSeen++
    // Every error line the head might show, and the first MAX_ERROR_LINES after it.
    const inHeadRange = error.start < this.maxBytes
    if (inHeadRange || this.#earlyBeyondHead < MAX_ERROR_LINES) {
      this.#early.push(error)
      if (!inHeadRange) this.#earlyBeyondHead++
    }
    // Every error line the tail might show, and the last MAX_ERROR_LINES before it.
    this.#late.push(error)
    const horizon = this.bytes - this.maxBytes
    while (
      this.#late.length - this.#lateStart > MAX_ERROR_LINES &&
      this.#late[this.#lateStart + MAX_ERROR_LINES]!.start < horizon
    ) {
      this.#lateStart++
    }
    if (this.#lateStart > 64 && this.#lateStart * 2 > this.#late.length) {
      this.#late = this.#late.slice(this.#lateStart)
      this.#lateStart = 0
    }
  }

  #knownErrors(): ErrorLine[] {
    const byLine = new Map<number, ErrorLine>()
    for (const error of this.#early) byLine.set(error.line, error)
    for (let i = this.#lateStart; i < this.#late.length; i++) byLine.set(this.#late[i]!.line, this.#late[i]!)
    return [...byLine.values()].sort((a, b) => a.line - b.line)
  }

  /**
   * `[... k of m error-like lines …:` + `L<n>: <text>` lines + `...]`, at most `budget` bytes,
   * taking lines alternately from the start and the end of the middle. '' when none fits.
   */
  #errorBlock(known: ErrorLine[], cut: Cut, budget: number): string {
    const headEnd = utf8Length(cut.head)
    const tailStart = this.bytes - utf8Length(cut.tail)
    const middle = known.filter((e) => e.start >= headEnd && e.end <= tailStart)
    if (middle.length === 0) return ''
    // Error lines not kept in `known` all lie in the middle (see #addError).
    const total = this.#errorsSeen - (known.length - middle.length)
    const header = (kept: number) =>
      `[... ${formatNumber(kept)} of ${formatCount(total, 'error-like line')} from the omitted part:\n`
    const footer = '...]\n'
    let used = utf8Length(header(total)) + utf8Length(footer)
    const chosen: ErrorLine[] = []
    for (let i = 0; i < middle.length && chosen.length < MAX_ERROR_LINES; i++) {
      const error = middle[i % 2 === 0 ? i / 2 : middle.length - 1 - (i - 1) / 2]!
      const bytes = utf8Length(errorEntry(error))
      if (used + bytes <= budget) {
        chosen.push(error)
        used += bytes
      }
    }
    if (chosen.length === 0) return ''
    chosen.sort((a, b) => a.line - b.line)
    return header(chosen.length) + chosen.map(errorEntry).join('') + footer
  }

  #counts(cut: Cut, totalLines: number): CutCounts {
    const headNewlines = countNewlines(cut.head)
    const shownHead = headNewlines + (cut.head && !cut.head.endsWith('\n') ? 1 : 0)
    const tailFirstLine = cut.tail ? 1 + this.#newlines - countNewlines(cut.tail) : totalLines + 1
    return {
      totalLines,
      shownHead,
      shownTail: totalLines + 1 - tailFirstLine,
      omittedLines: Math.max(0, tailFirstLine - 1 - shownHead),
      omittedBytes: this.bytes - utf8Length(cut.head) - utf8Length(cut.tail),
    }
  }
}

function errorEntry(error: ErrorLine): string {
  return `L${error.line}: ${error.text}\n`
}

interface CutCounts {
  totalLines: number
  /** Lines of which something is shown at the start / at the end. */
  shownHead: number
  shownTail: number
  omittedLines: number
  omittedBytes: number
}

function cutMarker(c: CutCounts): string {
  const what =
    c.omittedLines > 0
      ? `${formatCount(c.omittedLines, 'line')} (${formatCount(c.omittedBytes, 'byte')})`
      : formatCount(c.omittedBytes, 'byte')
  return `[... ${what} omitted; showing first ${formatNumber(c.shownHead)} and last ${formatNumber(c.shownTail)} of ${formatCount(c.totalLines, 'line')} ...]\n`
}

/** Head of at most floor(budget × headRatio) bytes, tail of the rest; both moved to line boundaries when close. */
function cutMiddle(head: string, tail: string, budget: number, headRatio: number): Cut {
  const h = snapPrefix(head, Math.floor(budget * headRatio))
  return { head: h, tail: snapSuffix(tail, budget - utf8Length(h)) }
}

function snapPrefix(s: string, maxBytes: number): string {
  const p = prefixByBytes(s, maxBytes)
  if (p.length === s.length || s.charCodeAt(p.length) === 0x0a) return p
  const newline = p.lastIndexOf('\n')
  return newline !== -1 && utf8Length(p, newline + 1) <= maxBytes * LINE_SNAP_SHARE
    ? p.slice(0, newline + 1)
    : p
}

function snapSuffix(s: string, maxBytes: number): string {
  const q = suffixByBytes(s, maxBytes)
  if (q.length === s.length || s.charCodeAt(s.length - q.length - 1) === 0x0a) return q
  const newline = q.indexOf('\n')
  return newline !== -1 && utf8Length(q, 0, newline + 1) <= maxBytes * LINE_SNAP_SHARE
    ? q.slice(newline + 1)
    : q
}

// ---------------------------------------------------------------------------------------------
// Escape sequences and control characters, as a state machine that survives chunk boundaries.

const TEXT = 0
const ESC = 1 // after ESC
const CSI = 2 // ESC [ params… final
const NF = 3 // ESC intermediates… final (charset designations and the like)
const STRING = 4 // OSC / DCS / SOS / PM / APC body, up to BEL or ST
const STRING_ESC = 5 // ESC inside a string: ST if followed by '\'
type StripState = 0 | 1 | 2 | 3 | 4 | 5

// The next character that is not plain text (\t and \n are plain).
const NOT_PLAIN = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

class ControlStripper {
  #state: StripState = TEXT
  // The last output was a '\n' made from '\r': a '\n' right after it belongs to the same break.
  #afterCarriageReturn = false

  write(s: string): string {
    let out = ''
    let i = 0
    while (i < s.length) {
      const c = s.charCodeAt(i)
      switch (this.#state) {
        case TEXT: {
          if (this.#afterCarriageReturn && c === 0x0a) {
            this.#afterCarriageReturn = false
            i++
            break
          }
          NOT_PLAIN.lastIndex = i
          const end = NOT_PLAIN.exec(s)?.index ?? s.length
          if (end > i) {
            out += s.slice(i, end)
            this.#afterCarriageReturn = false
            i = end
            break
          }
          i++
          if (c === 0x0d) {
            out += '\n'
            this.#afterCarriageReturn = true
          } else if (c === 0x1b) this.#state = ESC
          else if (c === 0x9b) this.#state = CSI
          else if (c === 0x90 || c === 0x98 || c === 0x9d || c === 0x9e || c === 0x9f) this.#state = STRING
          break
        }
        case ESC:
          if (c === 0x5b) this.#state = CSI
          else if (c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) this.#state = STRING
          else if (c >= 0x20 && c <= 0x2f) this.#state = NF
          else if (c !== 0x1b) {
            this.#state = TEXT
            if (c < 0x30 || c > 0x7e) break // not an escape sequence: keep the character
          }
          i++
          break
        case CSI:
        case NF: {
          // Parameter and intermediate bytes continue the sequence, a final byte ends it.
          const lastParam = this.#state === CSI ? 0x3f : 0x2f
          if (c >= 0x20 && c <= lastParam) i++
          else {
            this.#state = TEXT
            if (c > lastParam && c <= 0x7e) i++ // else: malformed, keep the character
          }
          break
        }
        case STRING:
          // An unterminated string ends at the line's end rather than swallowing the output.
          if (c === 0x0a) this.#state = TEXT
          else {
            i++
            if (c === 0x07 || c === 0x9c) this.#state = TEXT
            else if (c === 0x1b) this.#state = STRING_ESC
          }
          break
        case STRING_ESC:
          // ESC \ is the string terminator; ESC anything else starts a new escape sequence.
          if (c === 0x5c) {
            this.#state = TEXT
            i++
          } else this.#state = ESC
          break
      }
    }
    return out
  }
}

// ---------------------------------------------------------------------------------------------
// UTF-8 on JS strings. Text from TextDecoder has no lone surrogates; strings count as TextEncoder would.

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** UTF-8 bytes of the code point whose first code unit is s[i], or of the pair ending at s[i] when `backwards`. */
function codePointBytes(s: string, i: number, backwards: boolean): number {
  const c = s.charCodeAt(i)
  if (c < 0x80) return 1
  if (c < 0x800) return 2
  const pair = backwards
    ? isLowSurrogate(c) && i > 0 && isHighSurrogate(s.charCodeAt(i - 1))
    : isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))
  return pair ? 4 : 3
}

function utf8Length(s: string, from = 0, to = s.length): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else {
      const bytes = codePointBytes(s, i, false)
      n += bytes
      if (bytes === 4) i++
    }
  }
  return n
}

/** The longest prefix of at most `maxBytes` UTF-8 bytes, never splitting a code point. */
function prefixByBytes(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s
  let bytes = 0
  let i = 0
  while (i < s.length) {
    const w = codePointBytes(s, i, false)
    if (bytes + w > maxBytes) break
    bytes += w
    i += w === 4 ? 2 : 1
  }
  return s.slice(0, i)
}

/** The longest suffix of at most `maxBytes` UTF-8 bytes, never splitting a code point. */
function suffixByBytes(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s
  let bytes = 0
  let i = s.length
  while (i > 0) {
    const w = codePointBytes(s, i - 1, true)
    if (bytes + w > maxBytes) break
    bytes += w
    i -= w === 4 ? 2 : 1
  }
  return s.slice(i)
}

/** Length of the valid UTF-8 sequence starting at bytes[i] (possibly running past the end), 0 if invalid. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!
  let length: number
  let low = 0x80
  let high = 0xbf
  if (b >= 0xc2 && b <= 0xdf) length = 2
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3
    if (b === 0xe0) low = 0xa0
    else if (b === 0xed) high = 0x9f
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4
    if (b === 0xf0) low = 0x90
    else if (b === 0xf4) high = 0x8f
  } else return 0
  for (let k = 1; k < length && i + k < bytes.length; k++) {
    const next = bytes[i + k]!
    if (next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return 0
  }
  return length
}

function countNewlines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++
  return n
}

function formatNumber(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

function formatCount(n: number, unit: string): string {
  return `${formatNumber(n)} ${unit}${n === 1 ? '' : 's'}`
}
