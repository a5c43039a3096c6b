/**
 * The file API of the local sandbox, on the host side of the mount table: same result shapes,
 * error codes and quirks as the container's file service (writeFile creates parent folders,
 * rename/move behave like `mv`, deleteFile refuses folders, listFiles is `find`-like).
 */
import { randomUUID } from 'node:crypto'
import { constants, createWriteStream, type Stats } from 'node:fs'
import { chmod, cp, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type {
  DeleteFileResult,
  FileExistsResult,
  FileInfo,
  ListFilesOptions,
  ListFilesResult,
  MkdirResult,
  ReadFileResult,
  RenameFileResult,
  WriteFileResult,
} from '../backend.js'
import { fileError, LocalSandboxError } from './errors.js'
import { MountTable, type Resolved } from './mounts.js'

/** Encoded reads are capped like the container's (32 MiB). */
const MAX_READ_BYTES = 32 * 1024 * 1024

const now = () => new Date().toISOString()

export class SandboxFiles {
  constructor(private readonly table: MountTable) {}

  /** Resolves a path for writing: it must lie on a writable mount and not be a mount point. */
  private async writable(path: string, operation: string, followLast = true): Promise<Resolved> {
    const resolved = await this.table.resolve(path, { followLast })
    if (!resolved.mount.writable) {
      throw new LocalSandboxError('READ_ONLY', `Read-only file system: ${path}`, {
        operation,
        context: { path },
      })
    }
    if (resolved.path === resolved.mount.at) {
      throw new LocalSandboxError('PERMISSION_DENIED', `Cannot modify ${resolved.path} itself`, {
        operation,
        context: { path },
      })
    }
    return resolved
  }

  async writeFile(
    path: string,
    content: string | ReadableStream<Uint8Array>,
    options: { encoding?: string } = {},
  ): Promise<WriteFileResult> {
    try {
      const { host } = await this.writable(path, 'file.write')
      await mkdir(posix.dirname(host), { recursive: true })
      if (typeof content === 'string') {
        const base64 = options.encoding === 'base64'
        if (base64 && !/^[A-Za-z0-9+/=\s]*$/.test(content)) {
          throw new LocalSandboxError('VALIDATION_FAILED', `Invalid base64 content for '${path}'`, {
            operation: 'file.write',
            context: { path },
          })
        }
        // O_NOFOLLOW: the path was resolved above, a symlink swapped in since must not be followed
        const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants
        const file = await open(host, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
        try {
          await file.writeFile(Buffer.from(content, base64 ? 'base64' : 'utf8'))
        } finally {
          await file.close()
        }
      } else {
        await writeStreamAtomically(host, content)
      }
      return { success: true, path, timestamp: now() }
    } catch (error) {
      throw fileError(error, path, 'file.write')
    }
  }

  async readFile(path: string, options: { encoding?: string } = {}): Promise<ReadFileResult> {
    try {
      const { host } = await this.table.resolve(path, { followLast: true })
      const info = await stat(host)
      if (info.isDirectory()) {
        throw new LocalSandboxError('IS_DIRECTORY', `Path is a directory: ${path}`, {
          operation: 'file.read',
          context: { path },
        })
      }
      if (info.size > MAX_READ_BYTES) {
        throw new LocalSandboxError(
          'FILE_TOO_LARGE',
          `File too large. Size ${info.size} bytes exceeds the 32 MiB limit.`,
          {
            operation: 'file.read',
            context: { path, actualSize: info.size, maxSize: MAX_READ_BYTES },
          },
        )
      }
      const bytes = await readFile(host)
      const mimeType = mimeTypeOf(path, bytes)
      const encoding =
        options.encoding === 'base64'
          ? 'base64'
          : options.encoding === 'utf-8' || options.encoding === 'utf8'
            ? 'utf-8'
            : isBinaryMimeType(mimeType)
              ? 'base64'
              : 'utf-8'
      return {
        success: true,
        path,
        content: bytes.toString(encoding === 'base64' ? 'base64' : 'utf8'),
        timestamp: now(),
        encoding,
        isBinary: encoding === 'base64',
        mimeType,
        size: info.size,
      }
    } catch (error) {
      throw fileError(error, path, 'file.read')
    }
  }

  async mkdir(path: string, options: { recursive?: boolean } = {}): Promise<MkdirResult> {
    const recursive = options.recursive ?? false
    try {
      const { host } = await this.writable(path, 'directory.create')
      await mkdir(host, { recursive })
      return { success: true, path, recursive, timestamp: now() }
    } catch (error) {
      throw fileError(error, path, 'directory.create')
    }
  }

  async deleteFile(path: string): Promise<DeleteFileResult> {
    try {
      const { host } = await this.writable(path, 'file.delete', false)
      if ((await lstat(host)).isDirectory()) {
        throw new LocalSandboxError(
          'IS_DIRECTORY',
          `Cannot delete directory with deleteFile() at '${path}'. Use exec('rm -rf <path>') instead.`,
          { operation: 'file.delete', context: { path } },
        )
      }
      await unlink(host)
      return { success: true, path, timestamp: now() }
    } catch (error) {
      throw fileError(error, path, 'file.delete')
    }
  }

  renameFile(oldPath: string, newPath: string): Promise<RenameFileResult> {
    return this.move(oldPath, newPath, 'file.rename')
  }

  moveFile(sourcePath: string, destinationPath: string): Promise<RenameFileResult> {
    return this.move(sourcePath, destinationPath, 'file.move')
  }

  /** `mv source destination`: into `destination` when it is an existing folder. */
  private async move(source: string, destination: string, operation: string): Promise<RenameFileResult> {
    let from: Resolved
    try {
      from = await this.writable(source, operation, false)
      await lstat(from.host)
    } catch (error) {
      const e = fileError(error, source, operation)
      throw e.code === 'FILE_NOT_FOUND'
        ? new LocalSandboxError('FILE_NOT_FOUND', `Source file not found: ${source}`, {
            operation,
            context: { path: source },
          })
        : e
    }
    try {
      let to = await this.writable(destination, operation)
      if (await isDirectory(to.host))
        to = await this.writable(posix.join(to.path, posix.basename(from.path)), operation)
      await rename(from.host, to.host).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV') throw error
        await cp(from.host, to.host, { recursive: true, verbatimSymlinks: true })
        await rm(from.host, { recursive: true })
      })
      return { success: true, path: source, newPath: destination, timestamp: now() }
    } catch (error) {
      throw fileError(error, destination, operation)
    }
  }

  async listFiles(path: string, options: ListFilesOptions = {}): Promise<ListFilesResult> {
    try {
      const root = await this.table.resolve(path, { followLast: true })
      const info = await stat(root.host).catch((error) => {
        throw new LocalSandboxError('FILE_NOT_FOUND', `Directory not found: ${path}`, {
          operation: 'directory.list',
          context: { path },
          cause: error,
        })
      })
      if (!info.isDirectory()) {
        throw new LocalSandboxError('NOT_DIRECTORY', `Path is not a directory: ${path}`, {
          operation: 'directory.list',
          context: { path },
        })
      }
      const files: FileInfo[] = []
      const walk = async (host: string, sandbox: string, relative: string) => {
        const entries = (await readdir(host)).sort()
        for (const name of entries) {
          if (!options.includeHidden && name.startsWith('.')) continue
          const entry = await lstat(`${host}/${name}`).catch(() => undefined)
          if (!entry) continue
          const file = fileInfo(name, `${sandbox}/${name}`, relative ? `${relative}/${name}` : name, entry)
          files.push(file)
          if (options.recursive && file.type === 'directory')
            await walk(`${host}/${name}`, file.absolutePath, file.relativePath)
        }
      }
      await walk(root.host, MountTable.normalize(path), '')
      return { success: true, path, files, count: files.length, timestamp: now() }
    } catch (error) {
      throw fileError(error, path, 'directory.list')
    }
  }

  async exists(path: string): Promise<FileExistsResult> {
    const exists = await this.table
      .resolve(path, { followLast: true })
      .then(({ host }) => stat(host))
      .then(
        () => true,
        (error) => {
          if (error instanceof LocalSandboxError && error.code === 'VALIDATION_FAILED') throw error
          return false
        },
      )
    return { success: true, path, exists, timestamp: now() }
  }
}

async function isDirectory(host: string): Promise<boolean> {
  return (await stat(host).catch(() => undefined))?.isDirectory() ?? false
}

/** Streams into a temporary file, then renames it into place, keeping an existing file's mode. */
async function writeStreamAtomically(host: string, content: ReadableStream<Uint8Array>) {
  const temporary = `${host}.tmp.${randomUUID()}`
  const mode = (await stat(host).catch(() => undefined))?.mode
  try {
    await pipeline(
      Readable.fromWeb(content as WebReadableStream<Uint8Array>),
      createWriteStream(temporary, { flags: 'wx' }),
    )
    if (mode !== undefined) await chmod(temporary, mode)
    await rename(temporary, host)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

function fileInfo(name: string, absolutePath: string, relativePath: string, entry: Stats): FileInfo {
  const { mode } = entry
  const owner = (mode >> 6) & 7
  return {
    name,
    absolutePath,
    relativePath,
    type: entry.isFile()
      ? 'file'
      : entry.isDirectory()
        ? 'directory'
        : entry.isSymbolicLink()
          ? 'symlink'
          : 'other',
    size: entry.size,
    modifiedAt: entry.mtime.toISOString(),
    mode: [6, 3, 0].map((shift) => rwx((mode >> shift) & 7)).join(''),
    permissions: { readable: (owner & 4) !== 0, writable: (owner & 2) !== 0, executable: (owner & 1) !== 0 },
  }
}

const rwx = (bits: number) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`

/** Text MIME types that are not text/* (the container's list). */
const TEXT_MIME_TYPES = new Set([
  'application/ecmascript',
  'application/javascript',
  'application/json',
  'application/rtf',
  'application/sql',
  'application/toml',
  'application/typescript',
  'application/x-empty',
  'application/x-sh',
  'application/x-yaml',
  'application/xml',
  'application/yaml',
  'inode/x-empty',
])

export function isBinaryMimeType(mimeType: string): boolean {
  const subtype = mimeType.split('/')[1] ?? ''
  return !(
    mimeType.startsWith('text/') ||
    TEXT_MIME_TYPES.has(mimeType) ||
    subtype.endsWith('+json') ||
    subtype.endsWith('+xml')
  )
}

const MIME_BY_EXTENSION: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  ts: 'application/typescript',
  tsx: 'application/typescript',
  json: 'application/json',
  md: 'text/markdown',
  txt: 'text/plain',
  csv: 'text/csv',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  sh: 'application/x-sh',
  py: 'text/x-python',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  woff: 'font/woff',
  woff2: 'font/woff2',
}

const MAGIC: [bytes: number[], mimeType: string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46], 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x7f, 0x45, 0x4c, 0x46], 'application/x-executable'],
]

/**
 * By extension, else by content — the container asks Bun (extension) then `file --mime-type`.
 * Unknown content is text when it is valid UTF-8 without NUL bytes.
 */
export function mimeTypeOf(path: string, bytes: Uint8Array): string {
  const extension = posix.extname(path).slice(1).toLowerCase()
  const byExtension = MIME_BY_EXTENSION[extension]
  if (byExtension) return byExtension
  if (bytes.length === 0) return 'inode/x-empty'
  const magic = MAGIC.find(([signature]) => signature.every((b, i) => bytes[i] === b))
  if (magic) return magic[1]
  if (bytes.includes(0)) return 'application/octet-stream'
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return 'text/plain'
  } catch {
    return 'application/octet-stream'
  }
}
