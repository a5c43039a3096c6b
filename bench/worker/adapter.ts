// The baseline plus this library: a session on the sandbox and its AI SDK ToolSet.
import { getSandbox } from '@cloudflare/sandbox'
import { sandboxTools } from '../../adapters/ai/index.js'
import { createSession } from '../../src/session.js'

export { Sandbox } from '@cloudflare/sandbox'

type Env = { Sandbox: Parameters<typeof getSandbox>[0] }

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const session = createSession({ sandbox: () => getSandbox(env.Sandbox, 'bench') })
    const tools = sandboxTools(session)
    const result = await tools.shell.execute?.({ command: 'echo hi' }, {} as never)
    await session.destroy()
    return Response.json(result)
  },
}
