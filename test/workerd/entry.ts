/**
 * A small Worker written the way an app on Cloudflare Sandbox is: the REAL `getSandbox` from
 * `@cloudflare/sandbox` on the `Sandbox` binding. In the `local` environment that binding is
 * LocalSandboxDO, so everything below runs on the host with no container and no Docker.
 */
import { getSandbox, type Sandbox } from '@cloudflare/sandbox'

export { LocalSandboxDO } from '../../src/local/worker.js'

export interface Env {
  Sandbox: DurableObjectNamespace<Sandbox>
  LOCAL_SANDBOX_URL: string
  LOCAL_SANDBOX_TOKEN: string
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const id = url.searchParams.get('id') ?? 'demo'
    const sandbox = getSandbox(env.Sandbox, id, {
      enableDefaultSession: url.searchParams.get('session') === 'default',
    })
    const param = (name: string) => url.searchParams.get(name) ?? ''
    try {
      switch (`${request.method} ${url.pathname}`) {
        case 'POST /exec':
          return Response.json(
            await sandbox.exec(await request.text(), { timeout: Number(param('timeout')) || 10_000 }),
          )
        case 'POST /exec-stream':
          return new Response(await sandbox.execStream(await request.text()), {
            headers: { 'content-type': 'text/event-stream' },
          })
        case 'PUT /file':
          return Response.json(await sandbox.writeFile(param('path'), request.body!))
        case 'GET /file': {
          const file = await sandbox.readFile(param('path'))
          const bytes =
            file.encoding === 'base64'
              ? Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0))
              : new TextEncoder().encode(file.content)
          return new Response(bytes, {
            headers: {
              'content-type': file.mimeType ?? 'application/octet-stream',
              'x-binary': String(file.isBinary),
            },
          })
        }
        case 'POST /code':
          return Response.json(
            await sandbox.runCode(await request.text(), {
              language: (param('language') || 'python') as 'python' | 'javascript',
            }),
          )
        case 'POST /process':
          return Response.json(
            await sandbox.startProcess(await request.text(), { processId: param('name') || undefined }),
          )
        case 'GET /process': {
          const process = await sandbox.getProcess(param('pid'))
          const logs = process ? await sandbox.getProcessLogs(param('pid')) : undefined
          return Response.json({ process, logs })
        }
        case 'DELETE /process':
          await sandbox.killProcess(param('pid'))
          return new Response(null, { status: 204 })
        case 'POST /expose':
          return Response.json(
            await sandbox.exposePort(Number(param('port')), { hostname: url.hostname, name: 'web' }),
          )
        case 'DELETE /sandbox':
          await sandbox.destroy()
          return new Response(null, { status: 204 })
        default:
          return new Response('not found', { status: 404 })
      }
    } catch (error) {
      const e = error as { code?: string; message?: string; httpStatus?: number }
      return Response.json({ code: e.code, message: e.message }, { status: e.httpStatus ?? 500 })
    }
  },
} satisfies ExportedHandler<Env>
