/**
 * Zona side by side with SpiceDB (embedded), Cerbos, casbin and CASL, on the same customer and
 * the same questions, in one run.
 *
 *   npm run bench:peers              full run (the large customer); writes bench/results/peers.{json,md,svg}
 *   npm run bench:peers -- --quick   2-minute smoke (a customer a tenth the size, short runs); writes them too
 *   options: --seed=N, --only=zona,casl,… (in-process systems), --no-http, --out=DIR,
 *            --pg=postgres://… (also run Zona's server on a fresh database of that PostgreSQL server)
 *
 * Each in-process system runs in its own process (bench/peers/inproc-child.ts), so load time and
 * memory are its own; the HTTP tier starts its servers in processes of their own
 * (bench/peers/http-tier.ts). Every system first answers the whole check and list sample, compared
 * with Zona's answers; a difference voids its rows.
 */
import { fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPreset } from '../../src/catalog/load.ts'
import { type HttpSettings, runHttpTier } from './http-tier.ts'
import type { InProcSettings, SystemResult } from './inproc.ts'
import { writeReport } from './report.ts'
import { LARGE, makeWorkload, SMALL, saveWorkload } from './workload.ts'

const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const SEED = Number(argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? 1)
const ONLY = argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
const HTTP = !argv.includes('--no-http')
const PG = argv.find((a) => a.startsWith('--pg='))?.slice(5) ?? process.env.ZONA_PEERS_PG_URL
const OUT =
  argv.find((a) => a.startsWith('--out='))?.slice(6) ?? new URL('../results/', import.meta.url).pathname

const CHECKS = 10_000
const INPROC: InProcSettings = QUICK
  ? {
      reps: 5,
      warmMs: 200,
      checkRepMs: 200,
      listRepMs: 0,
      listsPerBucket: 3,
      pageSize: 100,
      compareChecks: 3_000,
    }
  : { reps: 5, warmMs: 2_000, checkRepMs: 2_000, listRepMs: 500, listsPerBucket: 5, pageSize: 100 }
const HTTP_SETTINGS: HttpSettings = QUICK
  ? { reps: 5, warmS: 0.5, repS: 0.3, connections: 16, rate: 100, pageSize: 100, compareChecks: 3_000 }
  : { reps: 5, warmS: 3, repS: 5, connections: 16, rate: 100, pageSize: 100 }
const SYSTEMS = ['zona', 'casl', 'casbin', 'spicedb'].filter((s) => !ONLY || ONLY.includes(s))

const began = performance.now()
const log = (line: string) =>
  console.log(`[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}`)

/**
 * One in-process system's process. It loads and compares on its own, then asks for a turn before
 * each timed phase; `next()` resolves with the phase it waits for (or null once it has finished).
 */
interface Kid {
  system: string
  next(): Promise<string | null>
  go(phase: string): void
  result: Promise<SystemResult>
}

function startChild(system: string, workloadFile: string): Kid {
  const child = fork(
    new URL('./inproc-child.ts', import.meta.url).pathname,
    [system, workloadFile, JSON.stringify(INPROC)],
    {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  const queue: (string | null)[] = []
  let wake: (() => void) | undefined
  const push = (x: string | null) => {
    queue.push(x)
    wake?.()
  }
  let result: SystemResult | undefined
  let failure: Error | undefined
  child.on(
    'message',
    (m: { type: string; line?: string; phase?: string; result?: SystemResult; message?: string }) => {
      if (m.type === 'log') log(m.line as string)
      else if (m.type === 'turn') push(m.phase as string)
      else if (m.type === 'result') result = m.result
      else if (m.type === 'error') failure = new Error(`${system}: ${m.message}`)
    },
  )
  const exited = new Promise<SystemResult>((resolve, reject) =>
    child.on('exit', (code) => {
      push(null)
      if (result) resolve(result)
      else reject(failure ?? new Error(`${system} exited with ${code}`))
    }),
  )
  exited.catch(() => {})
  return {
    system,
    result: exited,
    async next() {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r))
      return queue.shift() as string | null
    },
    go: (phase) => child.send({ type: 'go', phase }),
  }
}

/**
 * Each system loads and answers the comparison sample alone, one after another; then their timed
 * phases run in turns – warm-up of each, first repetition of each, … – so every system meets the
 * same background load on a shared machine.
 */
async function runInProcessTier(file: string, failures: string[]): Promise<SystemResult[]> {
  const waiting: { kid: Kid; phase: string }[] = []
  const all: Kid[] = []
  for (const s of SYSTEMS) {
    const kid = startChild(s, file)
    all.push(kid)
    const phase = await kid.next()
    if (phase !== null) waiting.push({ kid, phase })
  }
  while (waiting.length > 0) {
    log(`in turns: ${waiting.map((w) => `${w.kid.system} ${w.phase}`).join(', ')}`)
    for (const w of [...waiting]) {
      w.kid.go(w.phase)
      const next = await w.kid.next()
      if (next === null) waiting.splice(waiting.indexOf(w), 1)
      else w.phase = next
    }
  }
  const results: SystemResult[] = []
  for (const kid of all) {
    try {
      results.push(await kid.result)
    } catch (e) {
      failures.push((e as Error).message)
      log(`FAILED ${(e as Error).message}`)
    }
  }
  return results
}

async function main(): Promise<void> {
  const load = { start: loadavg().map((x) => Math.round(x * 100) / 100), end: [] as number[] }
  const catalog = loadPreset('o2-cz')
  const scale = QUICK ? SMALL : LARGE
  log(
    `${QUICK ? 'quick' : 'full'} run: ${scale.accounts} accounts, ${scale.services} services, ${scale.people} people (seed ${SEED})`,
  )
  const w = makeWorkload(catalog, scale, SEED, CHECKS)
  log(
    `workload: ${w.checks.person.length} checks (${w.checks.allowed.filter(Boolean).length} allowed), ${w.lists.length} lists; Zona vs naive reference: ${w.reference.checkMismatches} check and ${w.reference.listMismatches} list mismatches`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'zona-peers-'))
  const file = join(dir, 'workload.json')
  saveWorkload(file, w)
  const results: SystemResult[] = []
  const failures: string[] = []
  try {
    results.push(...(await runInProcessTier(file, failures)))
    if (HTTP) {
      try {
        results.push(
          ...(await runHttpTier(catalog, w, { ...HTTP_SETTINGS, ...(PG ? { pgUrl: PG } : {}) }, log)),
        )
      } catch (e) {
        failures.push(`http tier: ${(e as Error).stack ?? e}`)
        log(`FAILED http tier: ${(e as Error).stack ?? e}`)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  load.end = loadavg().map((x) => Math.round(x * 100) / 100)
  mkdirSync(OUT, { recursive: true })
  const written = writeReport(OUT, {
    mode: QUICK ? 'quick' : 'full',
    seed: SEED,
    workload: w,
    inproc: INPROC,
    http: HTTP_SETTINGS,
    results,
    failures,
    loadavg: load,
    runSeconds: Math.round((performance.now() - began) / 1000),
    catalog,
  })
  log(`wrote ${written.join(', ')}`)
  const mismatches = results.reduce((a, r) => a + r.compared.checkMismatches + r.compared.listMismatches, 0)
  if (failures.length > 0 || mismatches > 0 || w.reference.checkMismatches + w.reference.listMismatches > 0) {
    log(`${failures.length} failure(s), ${mismatches} mismatch(es)`)
    process.exitCode = 1
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
