// The baseline: a Worker that runs a command in a Cloudflare Sandbox with nothing else.
import { getSandbox } from '@cloudflare/sandbox'

export { Sandbox } from '@cloudflare/sandbox'

type Env = { Sandbox: Parameters<typeof getSandbox>[0] }

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const result = await getSandbox(env.Sandbox, 'bench').exec('echo hi')
    return Response.json(result)
  },
}
