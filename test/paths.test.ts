import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PathError } from '../src/errors.js'
import {
  assertRealpathInside,
  DEFAULT_WORKDIR,
  isInside,
  resolveWorkspacePath,
  shellQuote,
  toWorkspaceRelative,
} from '../src/paths.js'
import { hostilePaths } from './fixtures/hostile-paths.js'

const workdir = DEFAULT_WORKDIR
const resolve = (input: string, cwd?: string) => resolveWorkspacePath(input, { workdir, cwd })

function refusal(fn: () => unknown): PathError {
  try {
    fn()
  } catch (error) {
    if (error instanceof PathError) return error
    throw error
  }
  throw new Error('expected a PathError, got a result')
}

const hostile = hostilePaths

// [input, resolved]
const benign: [string, string][] = [
  ['a.txt', '/workspace/a.txt'],
  ['src/index.ts', '/workspace/src/index.ts'],
  ['a/b/c/d/e/f/g/h.txt', '/workspace/a/b/c/d/e/f/g/h.txt'],
  ['./x', '/workspace/x'],
  ['a/./b', '/workspace/a/b'],
  ['a/b/../c', '/workspace/a/c'],
  ['a/..', '/workspace'],
  ['.', '/workspace'],
  ['./', '/workspace'],
  ['src/', '/workspace/src'],
  ['src///', '/workspace/src'],
  ['a//b///c', '/workspace/a/b/c'],
  ['/workspace', '/workspace'],
  ['/workspace/', '/workspace'],
  ['/workspace/src/a.ts', '/workspace/src/a.ts'],
  ['/workspace/./src//a.ts', '/workspace/src/a.ts'],
  ['/workspace/a/../b', '/workspace/b'],
  ['données.txt', '/workspace/données.txt'],
  ['e\u0301t\u00e9.txt', '/workspace/e\u0301t\u00e9.txt'],
  ['日本語/ファイル.md', '/workspace/日本語/ファイル.md'],
  ['emoji 😀.png', '/workspace/emoji 😀.png'],
  ['family 👨\u200d👩\u200d👧.txt', '/workspace/family 👨\u200d👩\u200d👧.txt'],
  ['my file.txt', '/workspace/my file.txt'],
  [' leading space.txt', '/workspace/ leading space.txt'],
  ["it's.txt", "/workspace/it's.txt"],
  ['say "hi".txt', '/workspace/say "hi".txt'],
  ['100%.txt', '/workspace/100%.txt'],
  ['50% off/sale.txt', '/workspace/50% off/sale.txt'],
  ['%20.txt', '/workspace/%20.txt'],
  ['a%b', '/workspace/a%b'],
  ['...', '/workspace/...'],
  ['..foo', '/workspace/..foo'],
  ['foo..', '/workspace/foo..'],
  ['.hidden', '/workspace/.hidden'],
  ['.git/config', '/workspace/.git/config'],
  ['backup~', '/workspace/backup~'],
  ['x/~/y', '/workspace/x/~/y'],
  ['./~name', '/workspace/~name'],
  ['-rf', '/workspace/-rf'],
  ['$HOME/x', '/workspace/$HOME/x'],
  ['`id`.txt', '/workspace/`id`.txt'],
  ['a;b|c&d', '/workspace/a;b|c&d'],
  ['Loading….txt', '/workspace/Loading….txt'],
  ['file\u2024txt', '/workspace/file\u2024txt'],
  ['1\u22152 cup.txt', '/workspace/1\u22152 cup.txt'],
  ['x'.repeat(255), `/workspace/${'x'.repeat(255)}`],
]

describe('resolveWorkspacePath', () => {
  it(`refuses ${hostile.reduce((n, [, inputs]) => n + inputs.length, 0)} hostile paths, saying why`, () => {
    expect(hostile.reduce((n, [, inputs]) => n + inputs.length, 0)).toBeGreaterThanOrEqual(60)
    for (const [word, inputs] of hostile) {
      for (const input of inputs) {
        const error = refusal(() => resolve(input))
        expect.soft(error.message, JSON.stringify(input)).toContain(word)
        expect(error.code).toBe('PATH_REFUSED')
        expect(error.path).toBe(input)
        expect(error.hint).toBeTruthy()
      }
    }
  })

  it(`resolves ${benign.length} benign paths`, () => {
    expect(benign.length).toBeGreaterThanOrEqual(30)
    for (const [input, expected] of benign) expect(resolve(input), JSON.stringify(input)).toBe(expected)
  })

  it('explains refusals in words a model can act on', () => {
    expect(refusal(() => resolve('/etc/passwd')).toModelText()).toBe(
      'Refused path "/etc/passwd": it is outside the workspace /workspace\n' +
        "Only files under /workspace are reachable: pass a path relative to it (e.g. 'src/index.ts') or an absolute path that starts with /workspace/.",
    )
    expect(refusal(() => resolve('a/../../x')).message).toBe(
      `Refused path "a/../../x": '..' climbs above the workspace /workspace`,
    )
    expect(refusal(() => resolve('~/x')).hint).toContain("'./~/x'")
  })

  it('resolves relative paths against cwd, which must be inside the workdir', () => {
    expect(resolve('a.ts', '/workspace/src')).toBe('/workspace/src/a.ts')
    expect(resolve('../b.ts', '/workspace/src')).toBe('/workspace/b.ts')
    expect(resolve('..', '/workspace/src')).toBe('/workspace')
    expect(resolve('/workspace/x', '/workspace/src')).toBe('/workspace/x')
    expect(resolve('a.ts', 'src/lib')).toBe('/workspace/src/lib/a.ts')
    expect(refusal(() => resolve('../../x', '/workspace/src')).message).toContain("'..' climbs above")
    expect(refusal(() => resolve('a.ts', '/etc')).message).toContain('outside')
    expect(refusal(() => resolve('a.ts', '/workspace/../etc')).message).toContain("'..'")
  })

  it('works with other workdirs: nested, trailing slash, the root', () => {
    const nested = { workdir: '/home/user/project' }
    expect(resolveWorkspacePath('a', nested)).toBe('/home/user/project/a')
    expect(resolveWorkspacePath('/home/user/project/a', nested)).toBe('/home/user/project/a')
    expect(refusal(() => resolveWorkspacePath('/home/user/project2/a', nested)).message).toContain('outside')
    expect(refusal(() => resolveWorkspacePath('/home/user', nested)).message).toContain('outside')
    expect(resolveWorkspacePath('a', { workdir: '/workspace/' })).toBe('/workspace/a')
    expect(resolveWorkspacePath('/etc/passwd', { workdir: '/' })).toBe('/etc/passwd')
    expect(resolveWorkspacePath('.', { workdir: '/' })).toBe('/')
    expect(refusal(() => resolveWorkspacePath('../x', { workdir: '/' })).message).toContain("'..'")
    expect(refusal(() => resolveWorkspacePath('a', { workdir: 'workspace' })).message).toContain('absolute')
  })

  it('either refuses with a PathError or returns a normalized path inside the workdir (property)', () => {
    const token = fc.constantFrom(
      '..',
      '.',
      '/',
      '//',
      'a',
      'workspace',
      'workspace2',
      '%2e',
      '%25',
      '%',
      '\u2024',
      '\uff0e',
      '\u2215',
      '\uff0f',
      '\\',
      '~',
      '\0',
      '\n',
      'é',
      ' ',
    )
    const input = fc.oneof(
      fc.string({ unit: token, maxLength: 12 }),
      fc.string({ unit: token, maxLength: 12 }).map((s) => `/${s}`),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: fc.oneof(token, fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 20 }),
    )
    const cwd = fc.constantFrom(undefined, '/workspace', '/workspace/a', '/workspace/a/b')
    let resolved = 0
    fc.assert(
      fc.property(input, cwd, (s, c) => {
        let path: string
        try {
          path = resolve(s, c)
        } catch (error) {
          expect(error).toBeInstanceOf(PathError)
          return
        }
        resolved++
        expect(isInside(path, workdir)).toBe(true)
        expect(path.startsWith('/workspace')).toBe(true)
        expect(path.split('/').slice(1)).not.toContain('..')
        expect(path.split('/').slice(1)).not.toContain('.')
        expect(path.split('/').slice(1)).not.toContain('')
      }),
      { numRuns: 3000 },
    )
    expect(resolved).toBeGreaterThan(300)
  })
})

describe('isInside', () => {
  it.each([
    ['/workspace', '/workspace', true],
    ['/workspace/a/b', '/workspace', true],
    ['/workspace/', '/workspace', true],
    ['/workspace/a', '/workspace/', true],
    ['/workspace/a/../b', '/workspace', true],
    ['/workspace2', '/workspace', false],
    ['/workspacefoo/a', '/workspace', false],
    ['/workspace/../etc', '/workspace', false],
    ['/workspace/..', '/workspace', false],
    ['/', '/workspace', false],
    ['workspace/a', '/workspace', false],
    ['/anything', '/', true],
    ['/workspace/a', 'workspace', false],
  ])('isInside(%j, %j) is %s', (path, dir, expected) => {
    expect(isInside(path, dir)).toBe(expected)
  })
})

describe('toWorkspaceRelative', () => {
  it.each([
    ['/workspace', '/workspace', '.'],
    ['/workspace/', '/workspace', '.'],
    ['/workspace/src/a.ts', '/workspace', 'src/a.ts'],
    ['/workspace/src/a.ts', '/workspace/', 'src/a.ts'],
    ['/etc/passwd', '/workspace', '/etc/passwd'],
    ['/workspace2/a', '/workspace', '/workspace2/a'],
    ['/etc/passwd', '/', 'etc/passwd'],
  ])('toWorkspaceRelative(%j, %j) is %j', (path, dir, expected) => {
    expect(toWorkspaceRelative(path, dir)).toBe(expected)
  })
})

/**
 * A stand-in for `realpath -m` over a table of symbolic links: resolves links in every
 * component (targets relative to the link's directory), missing components allowed.
 */
function fakeRealpath(links: Record<string, string>) {
  return async (path: string): Promise<string> => {
    let parts = path.split('/').filter(Boolean)
    for (let hops = 0; hops < 40; hops++) {
      const at = parts.findIndex((_, i) => `/${parts.slice(0, i + 1).join('/')}` in links)
      if (at === -1) break
      const target = links[`/${parts.slice(0, at + 1).join('/')}`]!
      const base = target.startsWith('/') ? [] : parts.slice(0, at)
      parts = [...base, ...target.split('/').filter(Boolean), ...parts.slice(at + 1)]
      const normalized: string[] = []
      for (const part of parts) {
        if (part === '..') normalized.pop()
        else if (part !== '.') normalized.push(part)
      }
      parts = normalized
    }
    return `/${parts.join('/')}`
  }
}

describe('assertRealpathInside', () => {
  const realpath = fakeRealpath({
    '/workspace/passwd-link': '/etc/passwd',
    '/workspace/etc-dir': '/etc',
    '/workspace/relative': '../etc',
    '/workspace/inner': 'src',
    '/workspace/trap': '/workspace2/x',
    '/workspace/chain': '/workspace/etc-dir',
  })

  it('returns the canonical path of files inside, missing ones included', async () => {
    await expect(assertRealpathInside('/workspace/src/a.ts', workdir, realpath)).resolves.toBe(
      '/workspace/src/a.ts',
    )
    await expect(assertRealpathInside('/workspace/inner/a.ts', workdir, realpath)).resolves.toBe(
      '/workspace/src/a.ts',
    )
    await expect(assertRealpathInside('/workspace/new/dir/f.txt', workdir, realpath)).resolves.toBe(
      '/workspace/new/dir/f.txt',
    )
    await expect(assertRealpathInside('/workspace', workdir, realpath)).resolves.toBe('/workspace')
  })

  it.each([
    ['/workspace/passwd-link', '/etc/passwd'],
    ['/workspace/etc-dir/shadow', '/etc/shadow'],
    ['/workspace/etc-dir', '/etc'],
    ['/workspace/relative/passwd', '/etc/passwd'],
    ['/workspace/trap', '/workspace2/x'],
    ['/workspace/chain/hosts', '/etc/hosts'],
  ])('refuses %s, which leads to %s', async (path, target) => {
    const error = await assertRealpathInside(path, workdir, realpath).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PathError)
    expect((error as PathError).message).toBe(
      `Refused path "${path}": it resolves through a symbolic link to ${target}, outside the workspace /workspace`,
    )
    expect((error as PathError).hint).toContain('not followed')
  })

  it('canonicalizes the workdir too (a workdir behind a link, as /tmp on macOS)', async () => {
    const macos = fakeRealpath({ '/tmp': '/private/tmp', '/private/tmp/ws/out': '/private/tmp/other' })
    await expect(assertRealpathInside('/tmp/ws/a.txt', '/tmp/ws', macos)).resolves.toBe(
      '/private/tmp/ws/a.txt',
    )
    const error = await assertRealpathInside('/tmp/ws/out/x', '/tmp/ws', macos).catch((e: unknown) => e)
    expect((error as PathError).message).toContain(
      'to /private/tmp/other/x, outside the workspace /tmp/ws (/private/tmp/ws)',
    )
  })

  it('passes realpath failures through', async () => {
    const failing = async () => {
      throw new Error('sandbox unreachable')
    }
    await expect(assertRealpathInside('/workspace/a', workdir, failing)).rejects.toThrow(
      'sandbox unreachable',
    )
  })
})

describe('shellQuote', () => {
  /** What bash receives as separate words from the quoted strings. */
  function throughBash(strings: string[]): string[] {
    const result = spawnSync('bash', ['-c', `printf '%s\\0' ${strings.map(shellQuote).join(' ')}`], {
      encoding: 'buffer',
    })
    expect(result.status, result.stderr.toString()).toBe(0)
    const out = result.stdout.toString('utf8')
    return out.slice(0, -1).split('\0')
  }

  it('round-trips tricky strings through bash', () => {
    const tricky = [
      '',
      ' ',
      "'",
      "''",
      "a'b",
      "'; rm -rf / #",
      '"',
      '$HOME',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, quoted on purpose
      '${PATH}',
      '$(id)',
      '`id`',
      '\\',
      '\\n',
      '\n',
      '\t\r',
      '!',
      '!!',
      '*',
      '?',
      '[a]',
      '~',
      '~root',
      '-n',
      '--',
      'a b  c',
      ';|&<>(){}',
      '#comment',
      'données 😀',
      '\x1b[31m',
      'it\'s "quoted" and $dollar',
    ]
    expect(throughBash(tricky)).toEqual(tricky)
  })

  it('round-trips random strings through bash (property)', () => {
    const noNul = fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\0'))
    fc.assert(
      fc.property(fc.array(noNul, { minLength: 1, maxLength: 30 }), (strings) => {
        expect(throughBash(strings)).toEqual(strings)
      }),
      { numRuns: 150 },
    )
  })

  it('leaves plain words unquoted and refuses NUL', () => {
    expect(shellQuote('src/index.ts')).toBe('src/index.ts')
    expect(shellQuote('/workspace/a-b_c.d:e@f+g,h')).toBe('/workspace/a-b_c.d:e@f+g,h')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('a=b')).toBe("'a=b'")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(() => shellQuote('a\0b')).toThrow(TypeError)
  })
})
