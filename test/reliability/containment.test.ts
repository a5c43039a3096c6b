/**
 * R7 — containment of the local backend (bubblewrap). test/local.test.ts already proves, on the
 * backend: no writes outside /workspace, /tmp and /root (host folders included), no capabilities,
 * root-only /etc files hidden, symlinks cannot lead the file API out, no network (host loopback and
 * internet) unless allowed, a fork bomb held by a process limit, a memory hog by a memory limit, a
 * busy loop by a CPU limit, one pid namespace that `kill -9 -1` cannot take down.
 *
 * Added here: the same through the shell TOOL of a session (what a model actually drives), and the
 * escapes it does not try — new user/mount namespaces to remount the system writable, setuid,
 * entering another namespace, /proc/<pid>/root, the host's processes, devices.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { localSandbox } from '../../src/local/index.js'
import { createSession, type SandboxSession } from '../../src/session.js'
import { runTool, shell } from '../../src/tools/index.js'
import { hasBwrap, hostProcesses } from './host.js'

const sessions: SandboxSession[] = []
function session(options: Parameters<typeof localSandbox>[1] = {}): SandboxSession {
  const s = createSession({ sandbox: () => localSandbox(`r7-${crypto.randomUUID().slice(0, 8)}`, options) })
  sessions.push(s)
  return s
}
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()))
})

/** What the model reads from one shell tool call. */
async function sh(s: SandboxSession, command: string, timeout_ms = 20_000): Promise<string> {
  return (await runTool(shell, s, { command, timeout_ms })).text
}

describe.skipIf(!hasBwrap)(
  `R7 containment through the shell tool (${hasBwrap ? 'bubblewrap' : 'skipped: bubblewrap is not usable here, the local backend runs plain host processes'})`,
  () => {
    const outside = mkdtempSync(join(tmpdir(), 'sat-r7-'))
    const canary = join(outside, 'canary.txt')
    writeFileSync(canary, 'canary\n')
    afterAll(() => rmSync(outside, { recursive: true, force: true }))

    it('cannot write to the host: system folders, the folder around it, its own workspace folder by host path', async () => {
      const s = session()
      const root = (await s.backend()) as unknown as { root: string }
      const text = await sh(
        s,
        [
          `echo x > ${canary}`,
          `echo x > ${outside}/new.txt`,
          `echo x > ${root.root}/by-host-path.txt`,
          'echo x > /usr/sat-r7',
          'echo x > /etc/sat-r7',
          'ln -s / r && echo x > r/usr/sat-r7-link',
          'echo x > /proc/1/root/usr/sat-r7-proc',
          'true',
        ].join('; '),
      )
      expect(text).toMatch(/Read-only file system/)
      expect(readFileSync(canary, 'utf8')).toBe('canary\n')
      expect(readdirSync(outside)).toEqual(['canary.txt'])
      for (const f of ['/usr/sat-r7', '/etc/sat-r7', '/usr/sat-r7-link', '/usr/sat-r7-proc']) {
        expect(() => readFileSync(f), f).toThrow()
      }
    })

    it('cannot gain privileges: new namespaces, remounts, setuid, entering other namespaces', async () => {
      const s = session()
      const attempts = [
        // a new user + mount namespace gives capabilities inside it, but the system mounts stay locked read-only
        "unshare -rm sh -c 'mount -o remount,rw /usr && touch /usr/sat-r7-unshare' && echo ESCAPED-unshare",
        "unshare -rm sh -c 'mount -t tmpfs none /usr && touch /usr/sat-r7-tmpfs && echo mounted-over-a-copy'",
        'mount -o remount,rw / && echo ESCAPED-remount',
        'mount -t proc proc /mnt 2>&1 && echo ESCAPED-proc',
        'nsenter -t 1 -m -p true && echo ESCAPED-nsenter',
        'su -c true root </dev/null && echo ESCAPED-su',
        'chroot / true && echo ESCAPED-chroot',
        'mknod /tmp/sda b 8 0 && echo ESCAPED-mknod',
        'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
      ]
      const text = await sh(s, attempts.map((a) => `${a} 2>/dev/null`).join('; '))
      expect(text).not.toMatch(/ESCAPED/)
      expect(text).toMatch(/CapEff:\s+0000000000000000/)
      expect(text).toMatch(/NoNewPrivs:\s+1/)
      expect(() => readFileSync('/usr/sat-r7-unshare')).toThrow()
      expect(() => readFileSync('/usr/sat-r7-tmpfs')).toThrow()
    })

    it('sees and signals only its own processes, and no host devices', async () => {
      const s = session()
      const text = await sh(
        s,
        `ps -eo comm | grep -cx node; kill -0 ${process.pid} 2>&1 || echo cannot-signal-host; ls /dev | tr '\\n' ' '`,
      )
      // the test runner (node) is not visible; pid ${process.pid} is not the runner in the sandbox's namespace
      expect(text).toMatch(/^0$/m)
      expect(text).toMatch(/cannot-signal-host|No such process/)
      expect(text).not.toMatch(/\b(sda|nvme\w*|vda|mem|kmem|port)\b/)
    })

    it('a memory hog ends as a tool result, and the session stays usable', async () => {
      const s = session({ limits: { memory: 256 * 1024 * 1024 } })
      const hog = await sh(s, `python3 -c "x = b'x' * (1 << 30); print(len(x))"`)
      expect(hog).toMatch(/MemoryError|Killed|\[exit code: (1|137)\]/)
      expect(hog).not.toContain('1073741824')
      expect(await sh(s, 'echo still fine')).toContain('still fine')
    })

    it('a fork bomb ends as a tool result and is gone with it; the session stays usable', async () => {
      const s = session({ limits: { processes: 64 } })
      const tag = `bomb${process.pid}`
      // every process of the bomb is a fork of the command's bash: the tag is in its command line
      const bomb = await sh(s, `:(){ :|:& };: # ${tag}`, 2000)
      // the foreground function returns at once; its background copies die with the command
      expect(bomb).toMatch(/timed out|exit code/)
      await new Promise((r) => setTimeout(r, 500))
      expect(hostProcesses(tag).length, 'processes of the bomb still running').toBe(0)
      expect(await sh(s, 'echo still fine', 5000)).toContain('still fine')
    })

    it('no network through the shell tool unless allowed', async () => {
      const s = session()
      const text = await sh(
        s,
        'exec 3<>/dev/tcp/1.1.1.1/53 && echo REACHED; curl -sS -m 3 http://example.com 2>&1 | head -1',
      )
      expect(text).not.toMatch(/REACHED|<html/i)
    })
  },
)
