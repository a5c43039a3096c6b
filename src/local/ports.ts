/**
 * Reaching servers inside the sandbox from the host.
 *
 * Without `allowNetwork` a bwrap sandbox has its own network namespace: a server listening there
 * cannot be reached from the host's 127.0.0.1. One relay per sandbox bridges the two: a small Node
 * script that runs in the sandbox's network namespace only (host file system, so it can listen on
 * a unix socket in the sandbox's private state folder, which commands cannot see) and connects to
 * 127.0.0.1:<port> (or ::1) inside. Each exposed port gets a TCP listener on the host's 127.0.0.1
 * whose connections are piped through the relay, preceded by one line naming the port. With a
 * shared network (none mode, or `allowNetwork`) the server is on the host already: no forwarding.
 */
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'

/** Runs inside the sandbox's network namespace; argv[1] is the unix socket to listen on. */
const RELAY = `
const net = require('node:net')
const fs = require('node:fs')
const path = process.argv[1]
fs.rmSync(path, { force: true })
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  let head = Buffer.alloc(0)
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk])
    const end = head.indexOf(10)
    if (end < 0) return head.length > 16 && client.destroy()
    client.off('data', onData)
    client.pause()
    const port = Number(head.subarray(0, end).toString())
    const rest = head.subarray(end + 1)
    const dial = (hosts) => {
      const upstream = net.connect({ host: hosts[0], port, allowHalfOpen: true })
      upstream.once('error', () => (hosts.length > 1 ? dial(hosts.slice(1)) : client.destroy()))
      upstream.once('connect', () => {
        upstream.on('error', () => client.destroy())
        client.on('error', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
        client.on('close', () => upstream.destroy())
        upstream.write(rest)
        client.pipe(upstream)
        upstream.pipe(client)
      })
    }
    dial(['127.0.0.1', '::1'])
  }
  client.on('data', onData)
  client.on('error', () => {})
})
server.listen(path, () => process.stdout.write('ready\\n'))
process.stdin.on('end', () => process.exit(0)).resume()
`

export type RelaySpawner = (argv: string[]) => ChildProcess

export class Relay {
  private constructor(
    private readonly child: ChildProcess,
    readonly socket: string,
  ) {}

  /** Starts the relay with `spawn` (which places it in the sandbox's network namespace). */
  static async start(spawn: RelaySpawner, socket: string): Promise<Relay> {
    const child = spawn([process.execPath, '-e', RELAY, socket])
    let output = ''
    child.stdout?.setEncoding('utf8')
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (data: string) => {
        output += data
        if (output.includes('ready\n')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`port relay exited with code ${code}`)))
      child.once('error', reject)
    })
    child.unref()
    for (const stream of [child.stdin, child.stdout]) (stream as Socket | null)?.unref()
    return new Relay(child, socket)
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.ref() // keep this process alive until the relay is gone
    this.child.kill('SIGKILL')
    await exited
  }
}

/** Host listeners on 127.0.0.1 that forward to ports inside the sandbox through the relay. */
export class PortForwarder {
  private readonly servers = new Map<number, Server>()

  constructor(private readonly relay: () => Promise<Relay>) {}

  /** Starts forwarding `port`; resolves to the host port. */
  async open(port: number): Promise<number> {
    const server = createServer({ allowHalfOpen: true }, (client) => void this.forward(client, port))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    server.unref()
    this.servers.set(port, server)
    return (server.address() as { port: number }).port
  }

  private async forward(client: Socket, port: number) {
    client.on('error', () => {})
    const relay = await this.relay().catch(() => undefined)
    if (!relay || client.destroyed) return void client.destroy()
    const upstream = connect({ path: relay.socket, allowHalfOpen: true })
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.write(`${port}\n`)
    client.pipe(upstream)
    upstream.pipe(client)
  }

  close(port: number): void {
    this.servers.get(port)?.close()
    this.servers.delete(port)
  }

  closeAll(): void {
    for (const port of [...this.servers.keys()]) this.close(port)
  }
}
