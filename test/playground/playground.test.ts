/**
 * `npm start` end to end: the playground (examples/playground/start.ts) started as a child process
 * with no API key — so the scripted demo model — its page driven in headless Chromium (Debian's
 * /usr/bin/chromium through playwright-core). For every example Worker (each under `wrangler dev
 * --env local`, Docker-free) the showcase task is run from the page, and the page must show the
 * tool calls, the chart as a PNG image, a preview link that really serves the chart's folder, and
 * the final answer. Then Ctrl-C (SIGINT) must stop everything: the Workers and the preview server.
 *
 * Skipped, loudly, only when /usr/bin/chromium is missing (`apt-get install -y chromium`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES } from '../../examples/playground/playground.js'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!! SKIPPING test/playground/playground.test.ts: ${CHROMIUM} is missing.`,
      '!! The playground page is NOT tested. Install Debian chromium: apt-get install -y chromium',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  )
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const START_TIMEOUT = 150_000

interface Started {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<number | null>
  /** Per example: wrangler dev port and pid, from the "ready" lines. */
  ready: Map<string, { port: number; pid: number }>
}

/** The child and everything it printed, as soon as it is spawned (for the cleanup of a failed start). */
let spawned: { child: ChildProcess; output: () => string } | undefined

/** Starts `start.ts` with no API key and waits for its "Ready:" line. */
async function startPlayground(): Promise<Started> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENAI_API_KEY: '',
    PLAYGROUND_PORT: '0',
    PLAYGROUND_DEMO_DELAY_MS: '0',
    NO_COLOR: '1',
  }
  delete env.PLAYGROUND_EXAMPLES
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/playground/start.ts'], {
    cwd: root,
    env,
    detached: true, // its own group: the fallback cleanup can take it down whole
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  spawned = { child, output: () => output }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + START_TIMEOUT
  while (!/^Ready: /m.test(output)) {
    if (child.exitCode !== null)
      throw new Error(`the playground exited early (${child.exitCode}):\n${output}`)
    if (Date.now() > deadline) throw new Error(`the playground did not get ready in time:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const url = /Playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1]
  if (!url) throw new Error(`no page URL in the output:\n${output}`)
  return { child, url, output: () => output, exited, ready: readyExamples(output) }
}

function readyExamples(output: string): Map<string, { port: number; pid: number }> {
  const ready = new Map<string, { port: number; pid: number }>()
  for (const [, name, port, pid] of output.matchAll(
    /^(\S+): ready \(wrangler dev on 127\.0\.0\.1:(\d+), pid (\d+)\)/gm,
  )) {
    ready.set(name!, { port: Number(port), pid: Number(pid) })
  }
  return ready
}

function killGroup(pid: number | undefined): void {
  if (!pid) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // gone
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) })
    return true
  } catch {
    return false
  }
}

describe.skipIf(!hasChromium)('npm start: the playground page in headless Chromium (demo model)', () => {
  let started: Started | undefined
  let browser: BrowserContext | undefined
  let page: Page
  let profile: string
  const previews: string[] = []

  beforeAll(async () => {
    // a fresh profile (playwright passes it as --user-data-dir)
    profile = await mkdtemp(join(tmpdir(), 'playground-chromium-'))
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    })
    page = browser.pages()[0] ?? (await browser.newPage())
    started = await startPlayground()
  }, START_TIMEOUT + 30_000)

  afterAll(async () => {
    await browser?.close().catch(() => {})
    if (spawned) {
      // normally stopped by the last test; whatever is left goes now
      killGroup(spawned.child.pid)
      for (const { pid } of readyExamples(spawned.output()).values()) killGroup(pid)
    }
    if (profile) await rm(profile, { recursive: true, force: true })
  }, 30_000)

  it('serves the page, labelled as the scripted demo model, with every example ready', async () => {
    await page.goto(started!.url)
    await expect
      .poll(() => page.locator('#model').textContent(), { timeout: 15_000 })
      .toBe('Demo model (scripted) — set OPENAI_API_KEY for a real model')
    expect(await page.locator('#task').inputValue()).toMatch(/^Write a Python script that summarises sales/)
    for (const example of EXAMPLES) {
      await expect
        .poll(() => page.locator(`[data-example="${example.name}"] .state`).textContent(), {
          message: `${example.name} should be ready:\n${started!.output()}`,
          timeout: 15_000,
        })
        .toBe('ready')
    }
  })

  it.each(EXAMPLES.map((e) => [e.name]))(
    '%s: the demo task shows tool calls, a PNG chart, a live preview link and the final answer',
    async (name) => {
      await page.check(`input[name="example"][value="${name}"]`)
      await page.click('#run')
      // on failure: what the page showed, and what the playground printed
      const context = async () =>
        `page:\n${(await page.locator('#status, #events > *').allInnerTexts()).join('\n')}\n\nplayground output:\n${started!.output()}`
      try {
        await page.locator('#run-state').waitFor({ state: 'attached', timeout: 60_000 })
      } catch (error) {
        throw new Error(`${name}: the run did not finish within 60 s (${error}).\n${await context()}`)
      }
      expect(await page.locator('#run-state').getAttribute('data-state'), await context()).toBe('done')
      expect(await page.locator('.run-error').allTextContents()).toEqual([])

      const tools = await page
        .locator('.tool')
        .evaluateAll((cards) => cards.map((c) => c.getAttribute('data-tool')))
      expect(tools).toEqual([
        'write_file',
        'shell',
        'apply_patch',
        'shell',
        'run_code',
        'start_process',
        'expose_port',
      ])
      expect(await page.locator('.tool.done').count()).toBe(7)
      // the first run of the script fails; the patched one prints the totals
      expect(await page.locator('.tool[data-tool="shell"] pre.out').first().textContent()).toContain(
        'ValueError',
      )
      expect(await page.locator('.tool[data-tool="shell"] pre.out').nth(1).textContent()).toContain(
        'north: 165',
      )

      const chart = page.locator('.tool[data-tool="run_code"] img.chart')
      expect(await chart.count()).toBe(1)
      expect(await chart.getAttribute('src')).toMatch(/^data:image\/png;base64,iVBORw0KGgo/)
      await expect
        .poll(() => chart.evaluate((img: HTMLImageElement) => img.naturalWidth))
        .toBeGreaterThan(100)

      const link = page.locator('.tool[data-tool="expose_port"] a.preview')
      expect(await link.count()).toBe(1)
      const href = (await link.getAttribute('href'))!
      expect(href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      const listing = await (await fetch(href, { signal: AbortSignal.timeout(10_000) })).text()
      expect(listing).toContain('chart.png')
      previews.push(href)

      expect(await page.locator('.final').textContent()).toContain(
        'Done: sales/summary.py prints the totals per region',
      )
    },
    90_000,
  )

  it('Ctrl-C (SIGINT) stops the examples, the sandboxes (with their servers) and the page', async () => {
    const { child, exited, ready, url } = started!
    expect([...ready.keys()].sort()).toEqual(EXAMPLES.map((e) => e.name).sort())
    process.kill(child.pid!, 'SIGINT')
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000)),
    ])
    expect(code, started!.output()).toBe(0)
    expect(started!.output()).toContain('Stopped.')
    expect(await answers(url)).toBe(false)
    for (const [name, { port }] of ready) {
      expect(await answers(`http://127.0.0.1:${port}/api/health`), `${name} still answers`).toBe(false)
    }
    for (const href of previews) expect(await answers(href), `${href} still answers`).toBe(false)
  }, 45_000)
})
