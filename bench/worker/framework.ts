// The baseline plus the AI SDK's tool helpers and zod, without this library: what an app using the
// AI SDK in a sandbox Worker bundles anyway.
import { getSandbox } from '@cloudflare/sandbox'
import { tool, zodSchema } from 'ai'
import { z } from 'zod'

export { Sandbox } from '@cloudflare/sandbox'

type Env = { Sandbox: Parameters<typeof getSandbox>[0] }

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const sandbox = getSandbox(env.Sandbox, 'bench')
    const shell = tool({
      description: 'run a command',
      inputSchema: zodSchema(z.object({ command: z.string() })),
      execute: async ({ command }) => sandbox.exec(command),
    })
    return Response.json(await shell.execute?.({ command: 'echo hi' }, {} as never))
  },
}
