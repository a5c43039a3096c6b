import { describeError } from '../../src/errors.js'
import { allTools, runTool } from '../../src/tools/index.js'
import { describeToolSuite } from './suite.js'

// The neutral specs called directly: the reference every adapter must match.
describeToolSuite('the neutral specs (runTool)', (session) => async (name, input) => {
  const spec = allTools.find((t) => t.name === name)
  if (!spec) throw new Error(`no tool ${name}`)
  try {
    const out = await runTool(spec, session, input)
    return { text: out.text, images: out.images?.length ?? 0, error: false }
  } catch (error) {
    return { text: describeError(error), images: 0, error: true }
  }
})
