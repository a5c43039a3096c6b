/**
 * `npm start` (for now): the showcase task run step by step through the neutral tools on the local
 * backend, printing each call and exactly what a model would receive. No Docker, no API key: this
 * is a scripted walk-through, not a model.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createSession } from '../../src/index.js'
import { localSandbox } from '../../src/local/index.js'
import { allTools, runTool, toolErrorText } from '../../src/tools/index.js'
import { showcaseSteps, showcaseSummary, showcaseTask } from './showcase.js'

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`

const sandbox = localSandbox(`demo-${process.pid}`)
const session = createSession({ sandbox: () => sandbox })
console.log(bold('sandbox-agent-tools — scripted demo (no model, no Docker)'))
console.log(`isolation: ${sandbox.isolation}\ntask: ${showcaseTask}\n`)
try {
  for (const step of showcaseSteps) {
    const spec = allTools.find((t) => t.name === step.tool)!
    console.log(`${bold('agent:')} ${step.say}`)
    console.log(dim(`→ ${step.tool} ${JSON.stringify(step.input).slice(0, 160)}`))
    try {
      const out = await runTool(spec, session, step.input)
      console.log(out.text.replace(/^/gm, '  '))
      for (const [i, image] of (out.images ?? []).entries()) {
        const file = `.demo/image-${i}.png`
        await mkdir('.demo', { recursive: true })
        await writeFile(file, Buffer.from(image.data, 'base64'))
        console.log(dim(`  [image ${image.mediaType} saved to ./${file}]`))
      }
    } catch (error) {
      console.log(toolErrorText(spec, error).replace(/^/gm, '  '))
    }
    console.log()
  }
  console.log(`${bold('agent:')} ${showcaseSummary}`)
} finally {
  await session.destroy()
}
