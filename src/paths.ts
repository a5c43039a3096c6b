/**
 * Workspace containment for file tools: a lexical check of what the model typed (resolve against
 * the workdir, refuse anything that leaves it or tries to look like it does not), then a realpath
 * check done inside the sandbox, so symbolic links cannot lead outside either. POSIX paths only,
 * written by hand: this runs on Node and in workerd.
 */
import { PathError } from './errors.js'

export const DEFAULT_WORKDIR = '/workspace'

const MAX_PATH_BYTES = 4096
const MAX_COMPONENT_BYTES = 255

// C0 controls, DEL and C1 controls.
const CONTROL_CHAR = /[\x00-\x1f\x7f-\x9f]/
// Bidirectional overrides and isolates: they make a path display as something it is not.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
// Percent-encoded (possibly more than once, as %25…) '.', '/', '\', control characters, overlong
// UTF-8 forms of them (%c0%ae, %e0%80%ae…) and %uXXXX escapes.
const ENCODED_SPECIAL = /%(?:25)*(?:2e|2f|5c|[01][0-9a-f]|7f|c[01]|e0%[89]|f0%8|u[0-9a-f]{4})/i
// Slash look-alikes that NFKC leaves alone (fullwidth ／ and ＼ it folds by itself).
const SLASH_LOOKALIKE = /[\u2044\u2215\u2216\u2571\u2572\u29f5\u29f8\u29f9]/g

const encoder = new TextEncoder()

/**
 * Resolves a path given by a model or a user to a normalized absolute POSIX path inside `workdir`.
 * Relative paths resolve against `cwd` (default: the workdir; it must itself be inside it).
 * Throws a PathError saying why and what to pass instead for anything else.
 */
export function resolveWorkspacePath(input: string, options: { workdir: string; cwd?: string }): string {
  const workdir = normalizeAbsolute(options.workdir, 'the workspace directory')
  const base = options.cwd === undefined ? workdir : resolveWorkspacePath(options.cwd, { workdir })
  refuseSuspicious(input, workdir)

  const workParts = components(workdir)
  let stack: string[]
  let rest = components(input)
  if (input.startsWith('/')) {
    // Never re-rooted: an absolute path must name the workdir itself, then descend from it.
    if (rest.length < workParts.length || workParts.some((part, i) => rest[i] !== part)) {
      throw new PathError(input, `it is outside the workspace ${workdir}`, outsideHint(workdir))
    }
    stack = [...workParts]
    rest = rest.slice(workParts.length)
  } else {
    stack = components(base)
  }
  for (const part of rest) {
    if (utf8Bytes(part) > MAX_COMPONENT_BYTES) {
      throw new PathError(
        input,
        `a path component is too long (${utf8Bytes(part)} bytes; the limit is ${MAX_COMPONENT_BYTES})`,
        'Use shorter file and directory names.',
      )
    }
    if (part !== '..') stack.push(part)
    else if (stack.length > workParts.length) stack.pop()
    else {
      throw new PathError(
        input,
        `'..' climbs above the workspace ${workdir}`,
        `Paths must stay inside ${workdir}: pass a path relative to it without leaving it, e.g. 'src/index.ts'.`,
      )
    }
  }
  const resolved = `/${stack.join('/')}`
  if (utf8Bytes(resolved) > MAX_PATH_BYTES) {
    throw new PathError(input, tooLong(utf8Bytes(resolved), 'the resolved path'), 'Use a shorter path.')
  }
  return resolved
}

/** `absPath` for display: relative to the workdir ('src/a.ts', '.' for the workdir), unchanged if outside. */
export function toWorkspaceRelative(absPath: string, workdir: string): string {
  if (!isInside(absPath, workdir)) return absPath
  const path = normalizeAbsolute(absPath, 'the path')
  const dir = normalizeAbsolute(workdir, 'the workspace directory')
  if (path === dir) return '.'
  return dir === '/' ? path.slice(1) : path.slice(dir.length + 1)
}

/** Whether the absolute `absPath` is `workdir` or below it, after lexical normalization ('..' included). */
export function isInside(absPath: string, workdir: string): boolean {
  if (!absPath.startsWith('/') || !workdir.startsWith('/')) return false
  const path = normalizeAbsolute(absPath, 'the path')
  const dir = normalizeAbsolute(workdir, 'the workspace directory')
  return dir === '/' || path === dir || path.startsWith(`${dir}/`)
}

/**
 * The symbolic-link check, done inside the sandbox: `realpath` returns the canonical path
 * (`realpath -m -- <p>` there; missing trailing components allowed). The workdir is canonicalized
 * the same way (it may be a link itself). Returns the canonical path; refuses one outside.
 */
export async function assertRealpathInside(
  absPath: string,
  workdir: string,
  realpath: (p: string) => Promise<string>,
): Promise<string> {
  const [canonical, canonicalWorkdir] = await Promise.all([realpath(absPath), realpath(workdir)])
  if (!isInside(canonical, canonicalWorkdir)) {
    const where = canonicalWorkdir === workdir ? workdir : `${workdir} (${canonicalWorkdir})`
    throw new PathError(
      absPath,
      `it resolves through a symbolic link to ${canonical}, outside the workspace ${where}`,
      `Symbolic links that lead outside the workspace are not followed; use a file inside ${workdir}.`,
    )
  }
  return canonical
}

/** POSIX single-quote quoting: one shell word with exactly the characters of `s` (NUL excepted: no shell can). */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new TypeError('shellQuote: a shell command cannot contain a NUL character')
  if (/^[A-Za-z0-9_./:@+,-]+$/.test(s)) return s
  return `'${s.replaceAll("'", `'\\''`)}'`
}

// ---------------------------------------------------------------------------------------------

/** The textual refusals: everything that is hostile or ambiguous before any resolution. */
function refuseSuspicious(input: string, workdir: string): void {
  if (input.trim() === '') {
    throw new PathError(
      input,
      input === '' ? 'the path is empty' : 'the path is blank (only whitespace)',
      "Pass a path relative to the workspace, e.g. 'src/index.ts', or '.' for the workspace itself.",
    )
  }
  // A UTF-16 code unit is at least one UTF-8 byte: the cheap test first, so huge inputs cost nothing.
  if (input.length > MAX_PATH_BYTES || utf8Bytes(input) > MAX_PATH_BYTES) {
    throw new PathError(input, tooLong(utf8Bytes(input), 'the path'), 'Use a shorter path.')
  }
  if (input.includes('\0')) {
    throw new PathError(input, 'it contains a NUL byte', 'Remove the NUL (\\0) character from the path.')
  }
  const control = CONTROL_CHAR.exec(input) ?? BIDI_CONTROL.exec(input)
  if (control) {
    throw new PathError(
      input,
      `it contains the control character ${codePoint(control[0])}`,
      'Remove control and invisible formatting characters from the path.',
    )
  }
  if (LONE_SURROGATE.test(input)) {
    throw new PathError(
      input,
      'it is not valid Unicode (a lone surrogate)',
      'Pass the path as well-formed text.',
    )
  }
  if (input.startsWith('~')) {
    throw new PathError(
      input,
      "'~' (a home directory) is not expanded: paths are relative to the workspace",
      `Pass a path relative to ${workdir} such as 'notes.txt', or './${input}' for a name that starts with '~'.`,
    )
  }
  if (input.includes('\\')) {
    throw new PathError(
      input,
      "it contains a backslash ('\\'); directories are separated by '/'",
      "Use '/' between directories, e.g. 'src/index.ts'.",
    )
  }
  const encoded = ENCODED_SPECIAL.exec(input)
  if (encoded) {
    throw new PathError(
      input,
      `it contains a percent-encoded '.', '/', '\\' or control character (${encoded[0]})`,
      'Pass the path as plain text, not URL-encoded.',
    )
  }
  if (dotDotCount(lookalikeView(input)) > dotDotCount(input)) {
    throw new PathError(
      input,
      "it contains Unicode look-alikes of '.' or '/' that read as '..'",
      "Write paths with the plain ASCII characters '.' and '/'.",
    )
  }
}

/** How the path reads once encodings and compatibility forms are folded: percent-decoded, NFKC, look-alike slashes as '/'. */
function lookalikeView(input: string): string {
  let decoded = input
  for (let round = 0; round < 3; round++) {
    let next: string
    try {
      next = decodeURIComponent(decoded)
    } catch {
      break
    }
    if (next === decoded) break
    decoded = next
  }
  return decoded.normalize('NFKC').replace(SLASH_LOOKALIKE, '/')
}

function dotDotCount(path: string): number {
  return path.split(/[/\\]/).filter((part) => part === '..').length
}

/** Path components, without empty ones and '.'; '..' kept. */
function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.')
}

/** Lexical normalization of an absolute path ('..' at the root stays at the root). */
function normalizeAbsolute(path: string, what: string): string {
  if (!path.startsWith('/')) {
    throw new PathError(
      path,
      `${what} must be an absolute path`,
      `Pass an absolute path such as '${DEFAULT_WORKDIR}'.`,
    )
  }
  const stack: string[] = []
  for (const part of components(path)) {
    if (part === '..') stack.pop()
    else stack.push(part)
  }
  return `/${stack.join('/')}`
}

function outsideHint(workdir: string): string {
  return `Only files under ${workdir} are reachable: pass a path relative to it (e.g. 'src/index.ts') or an absolute path that starts with ${workdir === '/' ? '/' : `${workdir}/`}.`
}

function tooLong(bytes: number, what: string): string {
  return `${what} is too long (${bytes} bytes; the limit is ${MAX_PATH_BYTES})`
}

function utf8Bytes(s: string): number {
  return encoder.encode(s).length
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
}
