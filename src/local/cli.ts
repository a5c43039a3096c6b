#!/usr/bin/env node
/**
 * `npx sandbox-agent-tools serve [--port N]`: the loopback sandbox server for `wrangler dev`
 * with `LocalSandboxDO` (see src/local/worker.ts). Prints the URL and token to put in .dev.vars;
 * Ctrl-C stops it and destroys the sandboxes it created.
 */
import { parseArgs } from 'node:util'
import { serveLocalSandbox } from './server.js'

const USAGE = `Usage: sandbox-agent-tools serve [options]

Serves local sandboxes on 127.0.0.1 for Workers whose Sandbox binding is LocalSandboxDO
(sandbox-agent-tools/local/worker), e.g. under \`wrangler dev --env local\`, with no Docker.

Options:
  --port N                 port on 127.0.0.1 (default 8790; 0 picks a free one)
  --token T                shared token (default: $LOCAL_SANDBOX_TOKEN, else a random one)
  --isolation MODE         auto (default) | bwrap | none
  --allow-network          let sandboxed commands reach the network
  --root DIR               parent folder of the sandbox workspaces (default: the OS temp dir)
  -h, --help               this text
`

const DEFAULT_PORT = 8790

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (positionals.length !== 1 || positionals[0] !== 'serve') {
    process.stderr.write(USAGE)
    return 2
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port)
  const isolation = values.isolation ?? 'auto'
  if (!['auto', 'bwrap', 'none'].includes(isolation)) {
    process.stderr.write(`--isolation must be auto, bwrap or none\n`)
    return 2
  }
  const server = await serveLocalSandbox({
    port,
    token: values.token ?? (process.env.LOCAL_SANDBOX_TOKEN || undefined),
    sandboxOptions: {
      isolation: isolation as 'auto' | 'bwrap' | 'none',
      allowNetwork: values['allow-network'] ?? false,
      ...(values.root !== undefined && { root: values.root }),
    },
  })
  process.stdout.write(
    [
      `sandbox-agent-tools: local sandbox server listening on ${server.url}`,
      '',
      'Put these in the .dev.vars of your Worker (wrangler dev --env local):',
      `LOCAL_SANDBOX_URL=${server.url}`,
      `LOCAL_SANDBOX_TOKEN=${server.token}`,
      '',
      'Ctrl-C stops the server and destroys its sandboxes.',
      '',
    ].join('\n'),
  )
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  process.stdout.write('sandbox-agent-tools: stopping…\n')
  await server.close()
  return 0
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      token: { type: 'string' },
      isolation: { type: 'string' },
      'allow-network': { type: 'boolean' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const inUse = (error as { code?: unknown }).code === 'EADDRINUSE'
    const hint = inUse ? ' (pick another with --port N, or --port 0 for a free one)' : ''
    process.stderr.write(
      `sandbox-agent-tools: ${error instanceof Error ? error.message : String(error)}${hint}\n`,
    )
    process.exit(1)
  },
)
