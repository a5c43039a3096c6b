import { z } from 'zod'
import type { FileInfo } from '../backend.js'
import { errorCode, SandboxToolError } from '../errors.js'
import { looksBinary, shapeText, truncateMiddle } from '../output.js'
import { editText, planPatch } from '../patch.js'
import { shellQuote, toWorkspaceRelative } from '../paths.js'
import type { SandboxSession } from '../session.js'
import { defineTool, limitsFor } from './define.js'

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
}
const MAX_LINE_CHARS = 2000
const DEFAULT_READ_LINES = 2000

const pathField = z
  .string()
  .min(1, 'path must not be empty')
  .describe('File path, relative to /workspace (e.g. "src/app.py") or absolute inside /workspace.')

/** Reads a UTF-8 text file for editing; null when it does not exist. Refuses binary files. */
export async function readTextFile(session: SandboxSession, path: string): Promise<string | null> {
  let file: Awaited<ReturnType<SandboxSession['readFile']>>
  try {
    // read the bytes: a decoder that replaced invalid UTF-8 would corrupt every line on write-back
    file = await session.readFile(path, { encoding: 'base64' })
  } catch (error) {
    if (errorCode(error) === 'FILE_NOT_FOUND') return null
    throw error
  }
  const bytes = Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0))
  try {
    if (!looksBinary(bytes)) return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new SandboxToolError(
      'NOT_UTF8',
      `${path} is not UTF-8 text; editing it as text would corrupt it.`,
      {
        hint: 'Convert it first (e.g. `iconv -f latin1 -t utf-8`) with the shell tool, or edit it with the shell tool.',
      },
    )
  }
  throw new SandboxToolError(
    'BINARY_FILE',
    `${path} is a binary file (${file.mimeType ?? 'unknown type'}); it cannot be edited as text.`,
  )
}

function notFound(session: SandboxSession, path: string): SandboxToolError {
  return new SandboxToolError('FILE_NOT_FOUND', `File not found: ${path} (in ${session.workdir}).`, {
    hint: 'Use list_files to see which files exist.',
  })
}

// ------------------------------------------------------------------ read_file

export const readFileInput = z.object({
  path: pathField,
  offset: z.number().int().min(1).optional().describe('First line to read, 1-based (default 1).'),
  limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(`How many lines to read (default ${DEFAULT_READ_LINES}).`),
})

export const readFile = defineTool({
  name: 'read_file',
  description:
    'Read a file from the sandbox. Text comes back with line numbers, a page at a time (use offset/limit to ' +
    'page through long files). Images (png, jpeg, gif, webp) are returned as images. Binary files are not shown.',
  inputSchema: readFileInput,
  readOnly: true,
  async run(session, input, ctx) {
    const limits = limitsFor(session, ctx)
    const ext = input.path.toLowerCase().split('.').pop() ?? ''
    const imageType = IMAGE_TYPES[ext]
    let file: Awaited<ReturnType<SandboxSession['readFile']>>
    try {
      file = await session.readFile(input.path, imageType ? { encoding: 'base64' } : {})
    } catch (error) {
      const code = errorCode(error)
      if (code === 'FILE_NOT_FOUND') throw notFound(session, input.path)
      if (code === 'IS_DIRECTORY' || code === 'EISDIR') {
        throw new SandboxToolError('IS_DIRECTORY', `${input.path} is a directory.`, {
          hint: 'Use list_files to see its contents.',
        })
      }
      throw error
    }
    const size = file.size ?? file.content.length
    if (imageType) {
      return {
        text: `Image ${input.path} (${imageType}, ${size} bytes).`,
        images: [
          { data: file.content, mediaType: file.mimeType?.startsWith('image/') ? file.mimeType : imageType },
        ],
        data: { path: file.path, mimeType: imageType, size },
      }
    }
    if (file.isBinary || file.encoding === 'base64') {
      return {
        text: `${input.path} is a binary file (${file.mimeType ?? 'unknown type'}, ${size} bytes); its content is not shown. Use shell tools (e.g. \`file\`, \`xxd | head\`) to inspect it.`,
        data: { path: file.path, binary: true, mimeType: file.mimeType, size },
      }
    }
    const lines = file.content.split('\n')
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop()
    const total = lines.length
    const start = (input.offset ?? 1) - 1
    if (start >= total && total > 0) {
      throw new SandboxToolError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${input.offset} is past the end of ${input.path} (${total} lines).`,
      )
    }
    const footerReserve = 160
    const budget = limits.maxBytes - footerReserve
    const enc = new TextEncoder()
    const out: string[] = []
    let used = 0
    let end = start
    const last = Math.min(total, start + (input.limit ?? DEFAULT_READ_LINES))
    for (; end < last; end++) {
      let line = lines[end] ?? ''
      if (line.length > MAX_LINE_CHARS)
        line = `${line.slice(0, MAX_LINE_CHARS)}… [line cut: ${line.length} chars]`
      const numbered = `${String(end + 1).padStart(6)}\t${line.replace(/\r$/, '')}`
      const bytes = enc.encode(numbered).length + 1
      if (used + bytes > budget && out.length > 0) break
      out.push(used + bytes > budget ? truncateMiddle(numbered, budget) : numbered)
      used += bytes
    }
    let text = out.join('\n')
    if (total === 0) text = `(${input.path} is empty)`
    else if (end < total || start > 0) {
      text += `\n[lines ${start + 1}-${end} of ${total}${end < total ? `; continue with offset=${end + 1}` : ''}]`
    }
    return { text, data: { path: file.path, totalLines: total, from: start + 1, to: end } }
  },
})

// ------------------------------------------------------------------ write_file

export const writeFileInput = z.object({
  path: pathField,
  content: z.string().describe('The complete new content of the file.'),
})

export const writeFile = defineTool({
  name: 'write_file',
  description:
    'Create a file or overwrite it with new content; missing parent directories are created. To change part ' +
    'of an existing file prefer edit_file or apply_patch.',
  inputSchema: writeFileInput,
  readOnly: false,
  async run(session, input) {
    const existed = await session.exists(input.path)
    const abs = await session.writeFile(input.path, input.content)
    const bytes = new TextEncoder().encode(input.content).length
    const rel = toWorkspaceRelative(abs, session.workdir)
    return {
      text: `${existed ? 'Overwrote' : 'Created'} ${rel} (${bytes} bytes).`,
      data: { path: abs, bytes, created: !existed },
    }
  },
})

// ------------------------------------------------------------------ edit_file

export const editFileInput = z.object({
  path: pathField,
  old_text: z
    .string()
    .min(1, 'old_text must not be empty')
    .describe('Exact text to find, including whitespace and indentation.'),
  new_text: z.string().describe('Text to put in its place.'),
  replace_all: z
    .boolean()
    .optional()
    .describe('Replace every occurrence (default: old_text must occur exactly once).'),
})

export const editFile = defineTool({
  name: 'edit_file',
  description:
    'Replace exact text in a file. old_text must match exactly once (include a few surrounding lines to make ' +
    'it unique) unless replace_all is true. The file is unchanged if the edit fails.',
  inputSchema: editFileInput,
  readOnly: false,
  async run(session, input) {
    const before = await readTextFile(session, input.path)
    if (before === null) throw notFound(session, input.path)
    const { content, replacements } = editText(before, input.old_text, input.new_text, {
      replaceAll: input.replace_all ?? false,
    })
    const abs = await session.writeFile(input.path, content)
    const rel = toWorkspaceRelative(abs, session.workdir)
    return {
      text: `Edited ${rel}: ${replacements} replacement${replacements === 1 ? '' : 's'}.\n${snippetAround(content, input.new_text)}`,
      data: { path: abs, replacements },
    }
  },
})

/** A few numbered lines around the first occurrence of `needle`, so the model sees the result. */
function snippetAround(content: string, needle: string): string {
  const at = needle ? content.indexOf(needle) : -1
  if (at < 0) return ''
  const lines = content.split('\n')
  const first = content.slice(0, at).split('\n').length - 1
  const span = needle.split('\n').length
  const from = Math.max(0, first - 3)
  const to = Math.min(lines.length, first + span + 3)
  const shown = lines
    .slice(from, Math.min(to, from + 40))
    .map((l, i) => `${String(from + i + 1).padStart(6)}\t${l.replace(/\r$/, '')}`)
  return truncateMiddle(shown.join('\n'), 4000)
}

// ------------------------------------------------------------------ apply_patch

export const applyPatchInput = z.object({
  patch: z
    .string()
    .min(1, 'patch must not be empty')
    .describe(
      'A V4A patch: "*** Begin Patch", then "*** Add File: path" (lines prefixed "+"), "*** Delete File: path" or ' +
        '"*** Update File: path" (optional "*** Move to: new/path", then hunks starting "@@" with " " context, ' +
        '"-" removed and "+" added lines), then "*** End Patch".',
    ),
})

/** Applies a V4A patch through the session: everything is checked first; a failed patch changes nothing. */
export async function applyPatchText(
  session: SandboxSession,
  patch: string,
): Promise<{ summary: string; files: string[] }> {
  const plan = await planPatch(patch, (path) => readTextFile(session, path))
  // Each undo is registered BEFORE its change is made: a change whose answer is lost (a transport
  // dropped after the write ran) is undone too. Undoing a change that did not happen is harmless.
  const done: Array<() => Promise<unknown>> = []
  const created = await missingFolders(
    session,
    plan.changes.filter((c) => c.before === null || c.movedFrom !== undefined).map((c) => c.path),
  )
  // runs last: folders only this patch created go again (deepest first; rmdir keeps any not empty)
  if (created.length) {
    done.push(() =>
      session.execRaw(`rmdir -- ${created.map((d) => shellQuote(session.commandPath(d))).join(' ')}`),
    )
  }
  try {
    for (const change of plan.changes) {
      if (change.movedFrom !== undefined) {
        done.push(() => session.deleteFile(change.path))
        await session.writeFile(change.path, change.after ?? '')
        const original = change.before ?? ''
        const from = change.movedFrom
        done.push(() => session.writeFile(from, original))
        await session.deleteFile(from)
      } else if (change.after === null) {
        const original = change.before ?? ''
        done.push(() => session.writeFile(change.path, original))
        await session.deleteFile(change.path)
      } else {
        const original = change.before
        done.push(() =>
          original === null ? session.deleteFile(change.path) : session.writeFile(change.path, original),
        )
        await session.writeFile(change.path, change.after)
      }
    }
  } catch (error) {
    for (const undo of done.reverse()) await undo().catch(() => {})
    throw error
  }
  return { summary: plan.summary, files: plan.changes.map((c) => c.path) }
}

/** The folders that writing `paths` would create, deepest first. */
async function missingFolders(session: SandboxSession, paths: string[]): Promise<string[]> {
  const folders = new Set<string>()
  for (const path of paths) {
    let dir = (await session.resolvePath(path)).replace(/\/[^/]*$/, '')
    while (dir.length > session.workdir.length) {
      folders.add(dir)
      dir = dir.replace(/\/[^/]*$/, '')
    }
  }
  if (folders.size === 0) return []
  const list = [...folders].sort((a, b) => b.length - a.length)
  const probe = list.map(
    (d) => `[ -d ${shellQuote(session.commandPath(d))} ] || printf '%s\\n' ${shellQuote(d)}`,
  )
  const result = await session.execRaw(probe.join('; '))
  return result.stdout.split('\n').filter(Boolean)
}

export const applyPatch = defineTool({
  name: 'apply_patch',
  description:
    'Create, update, delete or move files with a V4A patch. The whole patch is checked before anything is ' +
    'written: if any part does not apply, no file changes and the error says what to fix.',
  inputSchema: applyPatchInput,
  readOnly: false,
  async run(session, input) {
    const { summary, files } = await applyPatchText(session, input.patch)
    return { text: `Patch applied.\n${summary}`, data: { files } }
  },
})

// ------------------------------------------------------------------ list_files

export const listFilesInput = z.object({
  path: z.string().optional().describe('Directory to list, relative to /workspace (default: /workspace).'),
  depth: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .describe('How many levels deep to list (default 2; 20 with a pattern).'),
  pattern: z
    .string()
    .optional()
    .describe(
      'Glob to filter paths relative to `path`, e.g. "**/*.ts" or "src/*.py". * stays within a directory, ** crosses them.',
    ),
})

const PRUNED = ['.git', 'node_modules', '__pycache__', '.venv', '.sandbox-agent-tools']
const MAX_ENTRIES = 1000

export const listFiles = defineTool({
  name: 'list_files',
  description:
    'List files and directories (depth-limited, sizes in bytes; directories end with "/"). With pattern, ' +
    'find files by glob. .git, node_modules and similar folders are shown but not entered.',
  inputSchema: listFilesInput,
  readOnly: true,
  async run(session, input, ctx) {
    const limits = limitsFor(session, ctx)
    const abs = await session.resolvePath(input.path ?? '.')
    const depth = input.depth ?? (input.pattern ? 20 : 2)
    const prune = PRUNED.map((n) => `-name ${shellQuote(n)}`).join(' -o ')
    const command =
      `cd ${shellQuote(session.commandPath(abs))} && find . -mindepth 1 -maxdepth ${depth} ` +
      `\\( \\( ${prune} \\) -type d -printf '%y %s %P\\n' -prune \\) -o -printf '%y %s %P\\n' 2>/dev/null | head -n ${MAX_ENTRIES * 20}`
    const result = await session.execRaw(command)
    if (result.exitCode !== 0 && !result.stdout) {
      const code = /No such file/.test(result.stderr)
        ? 'FILE_NOT_FOUND'
        : /Not a directory/.test(result.stderr)
          ? 'NOT_DIRECTORY'
          : 'LIST_FAILED'
      throw new SandboxToolError(
        code,
        `Cannot list ${input.path ?? '.'}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`,
        {
          hint:
            code === 'NOT_DIRECTORY'
              ? 'Use read_file for files.'
              : 'Check the path with list_files on its parent.',
        },
      )
    }
    const matcher = input.pattern ? globToRegExp(input.pattern) : undefined
    const entries = parseFind(result.stdout).filter((e) => !matcher || matcher.test(e.path))
    entries.sort((a, b) => a.path.localeCompare(b.path))
    const shown = entries.slice(0, MAX_ENTRIES)
    const rel = toWorkspaceRelative(abs, session.workdir)
    const lines = shown.map((e) =>
      e.type === 'directory'
        ? `${e.path}/`
        : e.type === 'symlink'
          ? `${e.path} -> (link)`
          : `${e.path} (${e.size})`,
    )
    let text = lines.length
      ? lines.join('\n')
      : input.pattern
        ? `No files match ${input.pattern} in ${rel}.`
        : `${rel} is empty.`
    if (entries.length > shown.length)
      text += `\n[${entries.length - shown.length} more entries not shown; narrow with path, depth or pattern]`
    const header = `${rel === '.' ? session.workdir : rel}/ (depth ${depth}${input.pattern ? `, pattern ${input.pattern}` : ''})`
    return { text: shapeText(`${header}\n${text}`, limits).text, data: { path: abs, entries: shown } }
  },
})

interface ListedEntry {
  path: string
  type: FileInfo['type']
  size: number
}

function parseFind(stdout: string): ListedEntry[] {
  const out: ListedEntry[] = []
  for (const line of stdout.split('\n')) {
    const m = /^(\S) (\d+) (.+)$/.exec(line)
    if (!m) continue
    const type = m[1] === 'd' ? 'directory' : m[1] === 'f' ? 'file' : m[1] === 'l' ? 'symlink' : 'other'
    out.push({ path: m[3] ?? '', type, size: Number(m[2]) })
  }
  return out
}

/** Glob → RegExp over '/'-separated relative paths: `**` any depth, `*` and `?` within a segment, `{a,b}`. */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/'
        re += slash ? '(?:.*/)?' : '.*'
        i += slash ? 2 : 1
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else if (c === '{') {
      const close = glob.indexOf('}', i)
      if (close < 0) re += '\\{'
      else {
        re += `(?:${glob
          .slice(i + 1, close)
          .split(',')
          .map(escapeRegExp)
          .join('|')})`
        i = close
      }
    } else re += escapeRegExp(c)
  }
  // a pattern without a slash matches the name at any depth (like .gitignore)
  return new RegExp(glob.includes('/') ? `^${re}$` : `(?:^|/)${re}$`)
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
