/**
 * V4A `apply_patch` and exact-match edits as pure functions: text in, text out, nothing written.
 *
 * Update hunks follow `applyDiff` from `@openai/agents` 0.20 exactly (the same result wherever it
 * succeeds, an error wherever it throws), with errors written for the model that must fix the hunk.
 * One deliberate difference: a UTF-8 byte-order mark is not content. It is set aside before matching
 * and put back afterwards, so it survives a hunk that replaces the first line (applyDiff loses it) and
 * a context line never has to spell it.
 *
 * Whole patches (`*** Begin Patch` … `*** End Patch`) follow the Codex apply_patch grammar with some
 * leniency for how models send them (code fences, heredocs, CRLF), and `planPatch` computes every
 * file's new content before anything is written, so a patch applies completely or not at all.
 */
import { PatchError, truncateForMessage } from './errors.js'

export type PatchOperation =
  /** `*** Add File: path` with `+` lines; `content` ends with a newline (see `parsePatch`). */
  | { type: 'add'; path: string; content: string }
  /** `*** Delete File: path`. */
  | { type: 'delete'; path: string }
  /** `*** Update File: path`, optionally `*** Move to: moveTo`, then a V4A diff for `applyUpdate`. */
  | { type: 'update'; path: string; moveTo?: string; diff: string }

/** One file's change. A move is one change: write `after` to `path`, then remove `movedFrom`. */
export interface FileChange {
  path: string
  /** Content before the patch (for a move: the content of `movedFrom`); null when the file is new. */
  before: string | null
  /** Content after the patch; null when the file is deleted. */
  after: string | null
  movedFrom?: string
}

export interface PatchPlan {
  changes: FileChange[]
  /** One line per change: `A path`, `M path`, `D path`, `R from -> to`. */
  summary: string
}

const BEGIN_PATCH = '*** Begin Patch'
const END_PATCH = '*** End Patch'
const ADD_FILE = '*** Add File:'
const DELETE_FILE = '*** Delete File:'
const UPDATE_FILE = '*** Update File:'
const MOVE_TO = '*** Move to:'
const END_OF_FILE = '*** End of File'
const FILE_HEADERS = [ADD_FILE, UPDATE_FILE, DELETE_FILE]
/** Lines where applyDiff stops reading a create diff. */
const CREATE_END = [END_PATCH, ...FILE_HEADERS]
/** Lines where applyDiff stops reading an update diff (between hunks). */
const UPDATE_END = [...CREATE_END, END_OF_FILE]
const BOM = '\uFEFF'
const FENCE = /^(?:```|~~~)[\w+.-]*$/
const HEREDOC = /<<-?\s*(['"]?)([\w.-]+)\1/
/** How leniently context lines are compared, strictest first (applyDiff's three passes). */
const LEVELS: ReadonlyArray<(line: string) => string> = [(s) => s, (s) => s.trimEnd(), (s) => s.trim()]

const PATCH_HINT =
  'A patch is "*** Begin Patch", then for each file "*** Add File: path" followed by "+" lines, ' +
  '"*** Delete File: path", or "*** Update File: path" (optionally followed by "*** Move to: new/path") ' +
  'followed by hunks of "@@", " " (context), "-" (remove) and "+" (add) lines; then "*** End Patch".'
const HUNK_HINT =
  'Re-read the file with read_file and regenerate the hunk: " " and "-" lines must match the file ' +
  '(whitespace differences are tolerated), hunks must follow the order of the file, and "@@ text" ' +
  'names a line above the hunk.'
const EDIT_HINT =
  'Re-read the file with read_file and copy old_text exactly as it appears in the file (without line ' +
  'numbers), including enough surrounding lines to make it unique.'

/**
 * Parses a whole patch into operations. Accepts the patch with surrounding whitespace or blank lines,
 * CRLF line endings, no final newline, and wrapped in a code fence or a heredoc
 * (`apply_patch <<'EOF'` … `EOF`). Errors name the line (1-based, in `text`) and what was expected.
 *
 * An added file's `content` is its `+` lines, each ending with a newline (as Codex's apply_patch
 * writes them): a text file ends with a newline. `*** Add File:` with no lines adds an empty file.
 * (`applyCreate`, which mirrors applyDiff's create mode, leaves the last newline off instead.)
 * An update's `diff` is validated here and applied by `applyUpdate`; with `*** Move to:` it may be empty.
 */
export function parsePatch(text: string): PatchOperation[] {
  return parseOperations(text).map(({ op }) => op)
}

/**
 * Applies a V4A update diff to `original`: `@@ [line above the hunk]` headers, then ` ` context,
 * `-` removed and `+` added lines, and `*** End of File` to anchor a hunk at the end. Context is found
 * exactly, else ignoring trailing whitespace, else ignoring surrounding whitespace. Equals
 * `applyDiff(original, diff)` from `@openai/agents` wherever that succeeds, and throws PatchError
 * wherever it throws; a leading BOM is kept (see the module comment). A file whose line breaks are
 * all CRLF is matched as LF and written back with CRLF.
 */
export function applyUpdate(original: string, diff: string): string {
  return updateText(original, diffLines(diff), 0, '')
}

/**
 * The content of a new file from `+` lines: `applyDiff('', diff, 'create')`, so without a final
 * newline. Reading stops at a `*** End Patch` or file header line, as applyDiff does.
 */
export function applyCreate(diff: string): string {
  const lines = diffLines(diff)
  const end = lines.findIndex((line) => startsWithAny(line, CREATE_END))
  return createText(end === -1 ? lines : lines.slice(0, end), 0)
}

/**
 * Parses `text`, reads every file it touches through `read` (null: the file does not exist) and
 * computes every result, throwing PatchError on the first problem: a file added that exists, updated,
 * moved or deleted that does not, moved onto a file that exists, touched twice, or a hunk that does
 * not apply. Paths are compared lexically (`a/./b` is `a/b`); errors from `read` propagate as they are.
 * Nothing is written: the caller applies `changes` only when this resolves.
 */
export async function planPatch(
  text: string,
  read: (path: string) => string | null | Promise<string | null>,
): Promise<PatchPlan> {
  const ops = parseOperations(text)
  const owners = new Map<string, number>()
  for (const { op, line } of ops) {
    for (const path of touchedPaths(op)) {
      const owner = owners.get(pathKey(path))
      if (owner !== undefined) {
        throw new PatchError(
          `line ${line}: ${path} is already changed by the operation at line ${owner}; a patch may change each file once.`,
          'Put all the hunks for one file under a single "*** Update File:" header.',
        )
      }
      owners.set(pathKey(path), line)
    }
  }
  const paths = ops.flatMap(({ op }) => touchedPaths(op))
  const settled = await Promise.allSettled(paths.map(async (path) => read(path)))
  const contents = new Map<string, string | null>()
  for (const [k, result] of settled.entries()) {
    if (result.status === 'rejected') throw result.reason
    contents.set(paths[k]!, result.value)
  }
  const existing = (path: string): string | null => contents.get(path) ?? null
  const changes = ops.map(({ op, line, bodyLine }): FileChange => {
    const before = existing(op.path)
    if (op.type === 'add') {
      if (before !== null) {
        throw new PatchError(
          `line ${line}: cannot add ${op.path}: the file already exists.`,
          `Use "*** Update File: ${op.path}" to change it.`,
        )
      }
      return { path: op.path, before, after: op.content }
    }
    if (before === null) {
      throw new PatchError(
        `line ${line}: cannot ${op.type} ${op.path}: the file does not exist.`,
        'Check the path with list_files; use "*** Add File:" to create a file.',
      )
    }
    if (op.type === 'delete') return { path: op.path, before, after: null }
    const moveTo = movedTo(op)
    if (moveTo !== undefined && existing(moveTo) !== null) {
      throw new PatchError(
        `line ${line + 1}: cannot move ${op.path} to ${moveTo}: ${moveTo} already exists.`,
        'Move to a path that does not exist, or delete that file in an earlier patch.',
      )
    }
    const after = updateText(before, diffLines(op.diff), bodyLine, `${op.path}: `)
    return moveTo === undefined
      ? { path: op.path, before, after }
      : { path: moveTo, before, after, movedFrom: op.path }
  })
  return { changes, summary: changes.map(describeChange).join('\n') }
}

/**
 * Replaces `oldText` with `newText`. `oldText` must occur exactly, and once unless `replaceAll`.
 * In a file whose line breaks are all CRLF, LF in `oldText` and `newText` stands for CRLF; a leading
 * BOM is kept. When `oldText` is missing, the error says where it would match with line endings,
 * trailing whitespace or indentation ignored, or else which line of the file comes closest.
 */
export function editText(
  content: string,
  oldText: string,
  newText: string,
  options: { replaceAll?: boolean } = {},
): { content: string; replacements: number } {
  if (oldText === '') {
    throw new PatchError(
      'old_text is empty: it must be the exact text to replace.',
      'Use write_file to create or overwrite a whole file; to insert text, include a neighbouring line in both old_text and new_text.',
    )
  }
  const form = textForm(content)
  const old = form.normalize(oldText)
  const parts = form.text.split(old)
  const count = parts.length - 1
  if (count === 0) throw notFound(form.text, old)
  if (count > 1 && !options.replaceAll) {
    throw new PatchError(
      `old_text matches ${count} times, at lines ${matchLines(parts, old)}; it must match exactly once.`,
      'Add surrounding lines to old_text so that it matches once, or set replace_all to replace every match.',
    )
  }
  return { content: form.restore(parts.join(form.normalize(newText))), replacements: count }
}

// ---------------------------------------------------------------------------------------------
// Patch parsing

interface ParsedOperation {
  op: PatchOperation
  /** 1-based line of the operation's header in the patch. */
  line: number
  /** 0-based index in the patch of the operation's first line after its header(s). */
  bodyLine: number
}

function parseOperations(text: string): ParsedOperation[] {
  const lines = text.split('\n').map((line) => line.replace(/\r+$/, ''))
  const begin = findBegin(lines)
  const end = lines.findIndex((line, k) => k > begin && line.trimEnd() === END_PATCH)
  if (end === -1) {
    throw new PatchError(
      `line ${lines.length}: expected "${END_PATCH}" as the last line of the patch.`,
      'The patch may have been cut off: send it again, complete, ending with "*** End Patch".',
    )
  }
  checkTrailer(lines, begin, end)
  const ops: ParsedOperation[] = []
  let i = begin + 1
  const bodyEnd = (from: number): number => {
    let k = from
    while (k < end && !startsWithAny(lines[k]!, FILE_HEADERS)) k += 1
    return k
  }
  while (i < end || ops.length === 0) {
    const line = i + 1
    const header = lines[i]!
    if (header.startsWith(ADD_FILE)) {
      const path = headerPath(lines, i, ADD_FILE)
      const bodyLine = i + 1
      i = bodyEnd(bodyLine)
      const body = lines.slice(bodyLine, i)
      ops.push({
        op: { type: 'add', path, content: body.length ? `${createText(body, bodyLine)}\n` : '' },
        line,
        bodyLine,
      })
    } else if (header.startsWith(DELETE_FILE)) {
      ops.push({ op: { type: 'delete', path: headerPath(lines, i, DELETE_FILE) }, line, bodyLine: i + 1 })
      i += 1
    } else if (header.startsWith(UPDATE_FILE)) {
      const path = headerPath(lines, i, UPDATE_FILE)
      const moveTo =
        i + 1 < end && lines[i + 1]!.startsWith(MOVE_TO) ? headerPath(lines, i + 1, MOVE_TO) : undefined
      const bodyLine = moveTo === undefined ? i + 1 : i + 2
      i = bodyEnd(bodyLine)
      const body = lines.slice(bodyLine, i)
      if (body.length === 0 && moveTo === undefined) {
        throw new PatchError(
          `line ${line}: "${UPDATE_FILE} ${path}" has no hunk: expected "@@" and " ", "-", "+" lines, or "${MOVE_TO} new/path".`,
          PATCH_HINT,
        )
      }
      const stop = parseSections(body, bodyLine).end
      if (stop < body.length) {
        throw new PatchError(
          `line ${bodyLine + stop + 1}: unexpected ${quote(body[stop]!)}: expected "@@" to start another hunk, or the next file header.`,
          PATCH_HINT,
        )
      }
      const diff = body.length ? `${body.join('\n')}\n` : ''
      ops.push({
        op: moveTo === undefined ? { type: 'update', path, diff } : { type: 'update', path, moveTo, diff },
        line,
        bodyLine,
      })
    } else {
      throw new PatchError(
        `line ${line}: expected "${ADD_FILE}", "${UPDATE_FILE}" or "${DELETE_FILE}", got ${quote(header)}.`,
        PATCH_HINT,
      )
    }
  }
  return ops
}

/** Index of the `*** Begin Patch` line; only blank lines, a fence or a heredoc opener may precede it. */
function findBegin(lines: string[]): number {
  for (const [k, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === BEGIN_PATCH) return k
    if (line !== '' && !FENCE.test(line) && !HEREDOC.test(line)) {
      throw new PatchError(`line ${k + 1}: expected "${BEGIN_PATCH}", got ${quote(raw)}.`, PATCH_HINT)
    }
  }
  throw new PatchError(
    `line ${lines.length}: expected "${BEGIN_PATCH}", got the end of the patch.`,
    PATCH_HINT,
  )
}

/** After `*** End Patch` only blank lines, a closing fence or the heredoc's delimiter may follow. */
function checkTrailer(lines: string[], begin: number, end: number): void {
  const delimiters = lines
    .slice(0, begin)
    .map((line) => HEREDOC.exec(line)?.[2])
    .filter((d) => d !== undefined)
  for (let k = end + 1; k < lines.length; k += 1) {
    const line = lines[k]!.trim()
    if (line !== '' && !FENCE.test(line) && !delimiters.includes(line)) {
      throw new PatchError(
        `line ${k + 1}: expected nothing after "${END_PATCH}", got ${quote(lines[k]!)}.`,
        PATCH_HINT,
      )
    }
  }
}

function headerPath(lines: string[], k: number, marker: string): string {
  const path = lines[k]!.slice(marker.length).trim()
  if (!path) throw new PatchError(`line ${k + 1}: "${marker}" must be followed by a file path.`, PATCH_HINT)
  return path
}

/** `+` lines without their `+`, joined by newlines; `base` numbers the lines for errors. */
function createText(lines: string[], base: number): string {
  return lines
    .map((line, k) => {
      if (!line.startsWith('+')) {
        throw new PatchError(
          `line ${base + k + 1}: expected "+" at the start of every line of an added file (a lone "+" for an empty line), got ${quote(line)}.`,
          PATCH_HINT,
        )
      }
      return line.slice(1)
    })
    .join('\n')
}

/** applyDiff's line split: CRLF or LF, one trailing CR dropped per line, no last empty line. */
function diffLines(diff: string): string[] {
  const lines = diff.split(/\r?\n/).map((line) => line.replace(/\r$/, ''))
  if (lines.at(-1) === '') lines.pop()
  return lines
}

// ---------------------------------------------------------------------------------------------
// Update hunks

/** A run of removed and added lines at `at` (an index into its section's `context`). */
interface Chunk {
  at: number
  remove: number
  insert: string[]
}

/** One hunk: `@@` lines, then its body, optionally ended by `*** End of File`. */
interface Section {
  /** 1-based line where the hunk starts, for messages. */
  line: number
  /** Texts of `@@ text` headers with a non-blank text, in order. */
  anchors: string[]
  /** More than one `@@` line: then every anchor must be found. */
  strictAnchors: boolean
  /** The lines the hunk expects in the file: context and removed lines, in order. */
  context: string[]
  /** The same lines as written in the diff (with their ` ` or `-`), for messages. */
  shown: string[]
  chunks: Chunk[]
  eof: boolean
}

/**
 * Reads hunks as applyDiff does, up to a line where applyDiff stops reading (`end`). The structure
 * does not depend on the file, so structural errors are found here, with the line (`base` + index + 1).
 */
function parseSections(lines: string[], base: number): { sections: Section[]; end: number } {
  const sections: Section[] = []
  const at = (k: number): string => `line ${base + k + 1}`
  let i = 0
  while (i < lines.length && !startsWithAny(lines[i]!, UPDATE_END)) {
    const start = i
    const anchors: string[] = []
    while (lines[i] === '@@' || lines[i]?.startsWith('@@ ')) {
      const anchor = lines[i]!.slice(3)
      if (anchor.trim()) anchors.push(anchor)
      i += 1
    }
    if (i === start && sections.length > 0) {
      throw new PatchError(
        `${at(i)}: expected "@@" to start the next hunk, got ${quote(lines[i]!)}.`,
        PATCH_HINT,
      )
    }
    const bodyStart = i
    const context: string[] = []
    const shown: string[] = []
    const chunks: Chunk[] = []
    let remove = 0
    let insert: string[] = []
    const flush = (): void => {
      if (remove || insert.length) chunks.push({ at: context.length - remove, remove, insert })
      remove = 0
      insert = []
    }
    for (; i < lines.length; i += 1) {
      const raw = lines[i]!
      if (raw.startsWith('@@') || startsWithAny(raw, UPDATE_END)) break
      const line = raw === '' ? ' ' : raw
      const kind = line.charAt(0)
      if (raw.startsWith('***') || !'+- '.includes(kind)) {
        throw new PatchError(
          `${at(i)}: expected a hunk line starting with " " (context), "-" (remove), "+" (add) or "@@", got ${quote(raw)}.`,
          PATCH_HINT,
        )
      }
      if (kind === '+') {
        insert.push(line.slice(1))
        continue
      }
      if (kind === ' ') flush()
      else remove += 1
      context.push(line.slice(1))
      shown.push(line)
    }
    flush()
    const eof = lines[i] === END_OF_FILE
    if (eof) i += 1
    else if (i === bodyStart) {
      throw new PatchError(
        `${at(start)}: the hunk has no lines: expected " ", "-" or "+" lines after "@@", got ${i < lines.length ? quote(lines[i]!) : 'the end of the diff'}.`,
        PATCH_HINT,
      )
    }
    sections.push({
      line: base + start + 1,
      anchors,
      strictAnchors: bodyStart - start > 1,
      context,
      shown,
      chunks,
      eof,
    })
  }
  return { sections, end: i }
}

/** Applies diff `lines` to `original`; `base` numbers the diff's lines and `label` prefixes errors. */
function updateText(original: string, lines: string[], base: number, label: string): string {
  const { sections } = parseSections(lines, base)
  const form = textForm(original)
  const file = form.text.split('\n')
  const fail = (section: Section, message: string): PatchError =>
    new PatchError(`${label}line ${section.line}: ${message}`, HUNK_HINT)
  const edits: Array<Chunk & { section: Section }> = []
  let cursor = 0
  for (const section of sections) {
    for (const [k, anchor] of section.anchors.entries()) {
      const next = seekAnchor(file, anchor, cursor, k > 0)
      if (next === -1 && section.strictAnchors) throw fail(section, anchorMissing(file, anchor, cursor))
      if (next !== -1) cursor = next
    }
    const found = findContext(file, section.context, cursor, section.eof)
    if (found === -1) throw fail(section, contextMissing(file, section, cursor))
    for (const chunk of section.chunks) edits.push({ ...chunk, at: found + chunk.at, section })
    cursor = found + section.context.length
  }
  const pieces: string[][] = []
  let position = 0
  for (const edit of edits) {
    if (edit.at < position) {
      throw fail(
        edit.section,
        `this hunk changes line ${edit.at + 1}, inside or above lines an earlier hunk already changed (up to line ${position}); hunks must follow the order of the file and must not overlap.`,
      )
    }
    pieces.push(file.slice(position, edit.at), edit.insert)
    position = edit.at + edit.remove
  }
  pieces.push(file.slice(position))
  return form.restore(pieces.flat().join('\n'))
}

/**
 * applyDiff's `@@` search: the cursor stays put when the line exists above it (unless `forward`),
 * else moves just past the next match; exact first, then ignoring surrounding whitespace.
 * Returns the new cursor, or -1 when the line is not found.
 */
function seekAnchor(file: string[], anchor: string, cursor: number, forward: boolean): number {
  for (const norm of [LEVELS[0]!, LEVELS[2]!]) {
    const wanted = norm(anchor)
    if (!forward && file.slice(0, cursor).some((line) => norm(line) === wanted)) return cursor
    for (let k = cursor; k < file.length; k += 1) if (norm(file[k]!) === wanted) return k + 1
  }
  return -1
}

/** applyDiff's context search: from `start`; at the very end first for an `*** End of File` hunk. */
function findContext(file: string[], context: string[], start: number, eof: boolean): number {
  if (!eof) return scan(file, context, start)
  const lines = file.length > 1 && file.at(-1) === '' ? file.slice(0, -1) : file
  const atEnd = scan(lines, context, Math.max(0, lines.length - context.length))
  return atEnd !== -1 ? atEnd : scan(lines, context, Math.min(start, lines.length))
}

/** First index from `start` where `context` matches, trying each leniency level in turn. */
function scan(lines: string[], context: string[], start: number): number {
  if (context.length === 0) return start
  for (const norm of LEVELS) {
    for (let k = start; k + context.length <= lines.length; k += 1) {
      if (context.every((line, j) => norm(lines[k + j]!) === norm(line))) return k
    }
  }
  return -1
}

function contextMissing(file: string[], section: Section, cursor: number): string {
  const listing = section.shown
    .slice(0, 12)
    .map((line) => `  ${quote(line)}`)
    .join('\n')
  const more = section.shown.length > 12 ? `\n  …(${section.shown.length - 12} more lines)` : ''
  const where = section.eof ? ' at the end of the file ("*** End of File")' : after(cursor)
  const head = `the hunk's context and removed lines were not found in the file${where}:\n${listing}${more}\n`
  const elsewhere = scan(file, section.context, 0)
  if (elsewhere === -1) return head + describeClosest(file, section.context, false)
  return `${head}They do appear at line ${elsewhere + 1}, ${elsewhere < cursor ? 'above where this hunk may start: hunks must follow the order of the file, and an "@@" header moves the search past the line it names' : 'but not at the end of the file'}.`
}

function anchorMissing(file: string[], anchor: string, cursor: number): string {
  const above = file.slice(0, cursor).findIndex((line) => line.trim() === anchor.trim())
  const detail =
    above === -1
      ? describeClosest(file, [anchor], false)
      : `It appears at line ${above + 1}, above where this hunk may start: "@@" headers must name lines in the order of the file.`
  return `the header "@@ ${truncateForMessage(anchor)}" names a line that is not in the file${after(cursor)}. ${detail}`
}

function after(cursor: number): string {
  return cursor > 0 ? ` after line ${cursor}` : ''
}

// ---------------------------------------------------------------------------------------------
// Exact-match edits

/** Ways old_text may differ from the file, mildest first, as a per-line normalization. */
const LOOSE: ReadonlyArray<[string, (line: string) => string]> = [
  ['line endings (CRLF/LF)', (s) => s.replace(/\r$/, '')],
  ['trailing whitespace', (s) => s.trimEnd()],
  ['indentation and surrounding whitespace', (s) => s.trim()],
]

function notFound(text: string, old: string): PatchError {
  const file = text.split('\n')
  const wanted = old.split('\n')
  for (const [difference, norm] of LOOSE) {
    const wantedNorm = wanted.map(norm)
    for (let k = 0; k + wanted.length <= file.length; k += 1) {
      if (wantedNorm.every((line, j) => fits(norm(file[k + j]!), line, j, wanted.length, true))) {
        const shown = file
          .slice(k, k + Math.min(wanted.length, 12))
          .map((line, j) => `  ${k + j + 1}: ${quote(line)}`)
          .join('\n')
        return new PatchError(
          `old_text was not found exactly, but it matches at line ${k + 1} when differences in ${difference} are ignored. The file has:\n${shown}`,
          EDIT_HINT,
        )
      }
    }
  }
  return new PatchError(
    `old_text was not found in the file. ${describeClosest(file, wanted, true)}`,
    EDIT_HINT,
  )
}

/** 1-based line numbers of the matches that separate `parts`, listed (at most 50). */
function matchLines(parts: string[], old: string): string {
  const numbers: number[] = []
  let line = 1
  for (const part of parts.slice(0, -1)) {
    line += newlines(part)
    numbers.push(line)
    line += newlines(old)
  }
  const more = numbers.length > 50 ? ` and ${numbers.length - 50} more` : ''
  return numbers.slice(0, 50).join(', ') + more
}

function newlines(s: string): number {
  return s.split('\n').length - 1
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** A text without its BOM and, if every line break is CRLF, with LF breaks; `restore` undoes both. */
function textForm(original: string): {
  text: string
  normalize(s: string): string
  restore(s: string): string
} {
  const bom = original.startsWith(BOM) ? BOM : ''
  const body = original.slice(bom.length)
  // applyDiff's rule: CRLF only when the text has line breaks and none is a bare LF.
  const crlf = body.includes('\n') && !/(?:^|[^\r])\n/.test(body)
  const normalize = (s: string): string => (crlf ? s.replaceAll('\r\n', '\n') : s)
  return {
    text: normalize(body),
    normalize,
    restore: (s) => bom + (crlf ? s.replaceAll('\n', '\r\n') : s),
  }
}

/**
 * Whether file line `line` matches wanted line `want` (both normalized), the `j`th of `m`. With
 * `partial`, the first wanted line may be the end of a file line and the last one its start.
 */
function fits(line: string, want: string, j: number, m: number, partial: boolean): boolean {
  if (!partial) return line === want
  if (m === 1) return line.includes(want)
  if (j === 0) return line.endsWith(want)
  if (j === m - 1) return line.startsWith(want)
  return line === want
}

/**
 * A sentence naming where `file` comes closest to `wanted` (lines compared ignoring surrounding
 * whitespace) and the text there: the window matching the most non-blank lines and its first
 * differing line, or else the line most similar to the first non-blank wanted line.
 */
function describeClosest(file: string[], wanted: string[], partial: boolean): string {
  const lines = file.map((line) => line.trim())
  const trimmed = wanted.map((line) => line.trim())
  const same = (k: number, j: number): boolean =>
    k < lines.length && fits(lines[k]!, trimmed[j]!, j, wanted.length, partial)
  let best = -1
  let bestScore = 0
  for (let start = 0; start < file.length; start += 1) {
    const score = trimmed.filter((line, j) => line !== '' && same(start + j, j)).length
    if (score > bestScore) [best, bestScore] = [start, score]
  }
  if (best !== -1) {
    let j = 0
    while (j < wanted.length - 1 && same(best + j, j)) j += 1
    const actual =
      best + j < file.length ? `line ${best + j + 1} reads ${quote(file[best + j]!)}` : 'the file ends'
    return `The closest match starts at line ${best + 1}: ${actual} where ${quote(wanted[j]!)} was expected.`
  }
  const target = wanted.find((line) => line.trim() !== '') ?? wanted[0]!
  const similar = mostSimilar(lines, target.trim())
  return similar === -1
    ? `No line of the file resembles ${quote(target)}.`
    : `The most similar line is line ${similar + 1}: ${quote(file[similar]!)}.`
}

/**
 * Index of the line most like `target`, or -1 when none shares a character pair with it: the lines
 * sharing the most character pairs (Dice) are shortlisted, then the one fewest edits away wins.
 */
function mostSimilar(lines: string[], target: string): number {
  const grams = bigrams(target)
  const shortlist = lines
    .map((line, k) => ({ k, score: dice(grams, bigrams(line)) }))
    .filter(({ score }) => score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, 8)
  let best = -1
  let fewest = Number.POSITIVE_INFINITY
  for (const { k } of shortlist) {
    const edits = editDistance(lines[k]!, target)
    if (edits < fewest) [best, fewest] = [k, edits]
  }
  return best
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i]
    for (let j = 1; j <= b.length; j += 1) {
      row.push(
        Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)),
      )
    }
    previous = row
  }
  return previous[b.length]!
}

function bigrams(s: string): Map<string, number> {
  const grams = new Map<string, number>()
  for (let k = 0; k + 2 <= s.length; k += 1) {
    const gram = s.slice(k, k + 2)
    grams.set(gram, (grams.get(gram) ?? 0) + 1)
  }
  return grams
}

/** Sørensen–Dice similarity of two bigram multisets, 0 to 1. */
function dice(a: Map<string, number>, b: Map<string, number>): number {
  let shared = 0
  let total = 0
  for (const [gram, n] of a) {
    shared += Math.min(n, b.get(gram) ?? 0)
    total += n
  }
  for (const n of b.values()) total += n
  return total === 0 ? 0 : (2 * shared) / total
}

function touchedPaths(op: PatchOperation): string[] {
  const moveTo = op.type === 'update' ? movedTo(op) : undefined
  return moveTo === undefined ? [op.path] : [op.path, moveTo]
}

/** The destination of a real move (`*** Move to:` naming the file itself is no move). */
function movedTo(op: Extract<PatchOperation, { type: 'update' }>): string | undefined {
  return op.moveTo !== undefined && pathKey(op.moveTo) !== pathKey(op.path) ? op.moveTo : undefined
}

/** A path's identity for "touched twice": `.` segments, repeated and trailing slashes, `x/..` removed. */
function pathKey(path: string): string {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..' && parts.length > 0 && parts.at(-1) !== '..') parts.pop()
    else parts.push(part)
  }
  return (path.startsWith('/') ? '/' : '') + parts.join('/')
}

function describeChange(change: FileChange): string {
  if (change.movedFrom !== undefined) {
    return change.after === change.before
      ? `Moved ${change.movedFrom} to ${change.path}`
      : `Updated ${change.movedFrom} and moved it to ${change.path}`
  }
  if (change.before === null) return `Created ${change.path}`
  return `${change.after === null ? 'Deleted' : 'Updated'} ${change.path}`
}

function startsWithAny(line: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => line.startsWith(prefix))
}

function quote(s: string): string {
  return JSON.stringify(truncateForMessage(s))
}
