/**
 * The driver of a JavaScript or TypeScript code context, run as `node -e JAVASCRIPT_DRIVER <nonce> <language>`: a
 * source string, not a file, because inside the sandbox no file of this package is visible. The protocol is
 * described in ../interpreter.ts.
 *
 * Cells are evaluated through the in-process inspector's `Runtime.evaluate` in REPL mode — the semantics of the
 * browser console: top-level `await`, `let`/`const`/`class` declarations that persist (and may be redeclared), and
 * the completion value of the cell as its result (awaited when it is a promise). TypeScript is stripped with
 * `module.stripTypeScriptTypes` (Node.js 22.13+). A worker thread reads the protocol, so that an interrupt also
 * reaches a cell that keeps the main thread busy: it asks the main thread first and, when that does not answer,
 * terminates the running JavaScript through the inspector.
 */
export const JAVASCRIPT_DRIVER = String.raw`
'use strict'
;(() => {
  const inspector = require('node:inspector')
  const { stripTypeScriptTypes } = require('node:module')
  const { Readable } = require('node:stream')
  const util = require('node:util')
  const vm = require('node:vm')
  const { Worker } = require('node:worker_threads')

  const [nonce, language] = process.argv.splice(1)
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  const stringify = JSON.stringify
  const VALUE = Symbol.for('sandbox-agent-tools.value')

  const send = (message) => {
    writeOut(nonce + stringify(message) + '\n')
    writeErr(nonce + message.id + '\n')
  }

  if (language === 'typescript' && typeof stripTypeScriptTypes !== 'function') {
    send({ id: 0, refused: 'TypeScript contexts need Node.js 22.13 or later in the sandbox (it has ' + process.version + '); use a javascript context instead.' })
    return
  }
  if (language === 'typescript') stripTypeScriptTypes('') // its one-time experimental warning goes out before "ready"

  // The protocol owns fd 0: user code sees an empty stdin.
  const emptyStdin = Readable.from([])
  Object.defineProperty(process, 'stdin', { configurable: true, enumerable: true, get: () => emptyStdin })
  // Like a REPL, report stray errors instead of dying.
  process.on('uncaughtException', (error) => writeErr('Uncaught ' + (error && error.stack ? error.stack : util.inspect(error)) + '\n'))
  process.on('unhandledRejection', (reason) => writeErr('Unhandled promise rejection: ' + (reason && reason.stack ? reason.stack : util.inspect(reason)) + '\n'))

  const session = new inspector.Session()
  session.connect()
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
  let globalId // objectId of globalThis: the receiver of Runtime.callFunctionOn

  // The value behind a RemoteObject of the inspector.
  const valueOf = async (remote) => {
    const argument = remote.objectId ? { objectId: remote.objectId } : 'unserializableValue' in remote ? { unserializableValue: remote.unserializableValue } : { value: remote.value }
    await post('Runtime.callFunctionOn', { objectId: globalId, functionDeclaration: 'function (value) { this[Symbol.for("sandbox-agent-tools.value")] = value }', arguments: [argument] })
    const value = globalThis[VALUE]
    delete globalThis[VALUE]
    return value
  }

  // A cell that starts with { and ends with } is an object literal if it parses as one (as in Node's REPL).
  const asExpression = (source) => {
    if (!/^\s*\{/.test(source) || !/\}\s*$/.test(source)) return source
    try {
      new vm.Script('(' + source + '\n)')
      return '(' + source + '\n)'
    } catch {
      return source
    }
  }

  const evaluate = async (source, cell) => {
    const response = await post('Runtime.evaluate', { expression: asExpression(source) + '\n//# sourceURL=cell-' + cell, replMode: true, awaitPromise: true, objectGroup: 'cell' })
    if (response.exceptionDetails) return { thrown: await valueOf(response.exceptionDetails.exception), details: response.exceptionDetails }
    return { value: await valueOf(response.result) }
  }

  const describe = (thrown, details, cell) => {
    const isError = thrown instanceof Error
    const stack = isError && typeof thrown.stack === 'string' ? thrown.stack.split('\n') : ['Uncaught ' + util.inspect(thrown)]
    // Frames from here on are the driver's: the inspector, the TypeScript stripper, the driver's own code.
    const driverFrame = stack.findIndex((line) => /\(node:inspector:|node:internal\/modules\/typescript|\[eval\]/.test(line))
    const traceback = driverFrame < 0 ? stack : stack.slice(0, driverFrame)
    const frame = traceback.map((line) => new RegExp('cell-' + cell + ':(\\d+):\\d+').exec(line)).find(Boolean)
    let lineNumber = frame ? Number(frame[1]) : undefined
    if (isError && thrown.name === 'SyntaxError' && details) {
      lineNumber = details.lineNumber + 1
      traceback.push('    at cell-' + cell + ':' + lineNumber + ':' + (details.columnNumber + 1))
    }
    return { name: isError ? thrown.name : 'Error', message: isError ? thrown.message : util.inspect(thrown), traceback, lineNumber }
  }

  const bundle = (value) => {
    const result = { text: util.inspect(value) }
    const prototype = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined
    if (Array.isArray(value) || prototype === Object.prototype || prototype === null) {
      try {
        result.json = JSON.parse(stringify(value))
      } catch {}
    }
    return result
  }

  let current // the cell in progress: { id, stop }
  const run = async ({ id, code, env }) => {
    const saved = Object.keys(env).map((key) => [key, process.env[key]])
    Object.assign(process.env, env)
    const stopped = new Promise((resolve) => {
      current = { id, stop: () => resolve({ stopped: true }) }
    })
    try {
      const source = language === 'typescript' ? stripTypeScriptTypes(code, { mode: 'transform' }) : code
      // The inspector fails an evaluation only when Runtime.terminateExecution ended it.
      const outcome = await Promise.race([evaluate(source, id).catch(() => ({ stopped: true })), stopped])
      if (outcome.stopped) return { id, results: [], error: { name: 'Interrupted', message: 'Execution was interrupted', traceback: [] } }
      if ('thrown' in outcome) return { id, results: [], error: describe(outcome.thrown, outcome.details, id) }
      return { id, results: outcome.value === undefined ? [] : [bundle(outcome.value)] }
    } catch (error) {
      return { id, results: [], error: describe(error, undefined, id) }
    } finally {
      current = undefined
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
      post('Runtime.releaseObjectGroup', { objectGroup: 'cell' }).catch(() => {})
    }
  }

  function readProtocol() {
    const fs = require('node:fs')
    const inspector = require('node:inspector')
    const { StringDecoder } = require('node:string_decoder')
    const { parentPort, workerData } = require('node:worker_threads')
    const acknowledged = new Int32Array(workerData)
    const pause = new Int32Array(new SharedArrayBuffer(4))
    const session = new inspector.Session()
    session.connectToMainThread()
    const decoder = new StringDecoder('utf8')
    const chunk = Buffer.alloc(65536)
    let pending = ''
    for (;;) {
      let size
      try {
        size = fs.readSync(0, chunk)
      } catch (error) {
        if (error.code !== 'EAGAIN') break
        Atomics.wait(pause, 0, 0, 10)
        continue
      }
      if (size === 0) break
      pending += decoder.write(chunk.subarray(0, size))
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const message = JSON.parse(pending.slice(0, newline))
        pending = pending.slice(newline + 1)
        parentPort.postMessage(message)
        // The main thread acknowledges an interrupt with its id, unless synchronous code keeps it busy: stop that code.
        const deadline = Date.now() + 500
        while (message.type === 'interrupt' && Atomics.load(acknowledged, 0) !== message.id) {
          const left = deadline - Date.now()
          if (left <= 0) {
            session.post('Runtime.terminateExecution')
            break
          }
          Atomics.wait(acknowledged, 0, Atomics.load(acknowledged, 0), left)
        }
      }
    }
    parentPort.postMessage({ type: 'close' })
  }

  const acknowledged = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker('(' + readProtocol + ')()', { eval: true, workerData: acknowledged.buffer })
  worker.on('error', (error) => {
    writeErr('The protocol reader failed: ' + error.stack + '\n')
    process.exit(70)
  })
  worker.on('message', (message) => {
    if (message.type === 'run') {
      run(message).then(send)
    } else if (message.type === 'interrupt') {
      Atomics.store(acknowledged, 0, message.id)
      Atomics.notify(acknowledged, 0)
      if (current && current.id === message.id) current.stop()
    } else {
      session.disconnect()
      process.exit(0)
    }
  })
  worker.once('online', async () => {
    globalId = (await post('Runtime.evaluate', { expression: 'globalThis' })).result.objectId
    send({ id: 0, ready: true })
  })
})()
`
