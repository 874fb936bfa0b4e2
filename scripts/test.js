#!/usr/bin/env node
// `npm test`: every test, on a fresh machine. Finds or starts PostgreSQL (else runs on PGlite alone
// and says so), then runs type checking, lint, the unit and integration suites, the shipped access
// test files and, when a browser is available, the browser suite. Ends with `N passed, M failed`.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

const root = new URL('..', import.meta.url).pathname
const results = []
let passed = 0
let failed = 0

function run(name, cmd, args, env = {}) {
  process.stdout.write(`\n── ${name}: ${cmd} ${args.join(' ')}\n`)
  const started = Date.now()
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  const ok = r.status === 0
  results.push({ name, ok, seconds: (Date.now() - started) / 1000 })
  return ok
}

async function reachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function findPostgres() {
  const url = process.env.ZONA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  if (await reachable(url)) return url
  // A local cluster that is installed but stopped (as on a fresh CI machine) is started once.
  if (existsSync('/etc/postgresql') && process.getuid?.() === 0) {
    const version = readdirSync('/etc/postgresql')[0]
    if (version) {
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
        stdio: 'inherit',
      })
      for (let i = 0; i < 20; i++) {
        if (await reachable(url)) return url
        await new Promise((r) => setTimeout(r, 500))
      }
    }
  }
  return null
}

const pgUrl = await findPostgres()
const dbNote = pgUrl
  ? `database suites ran on PGlite and on PostgreSQL (${pgUrl.replace(/\/\/[^@]*@/, '//')})`
  : 'no PostgreSQL reachable: database suites ran on PGlite ALONE (set ZONA_TEST_PG_URL or start PostgreSQL to run both)'

run('type check', 'npx', ['tsc', '--noEmit'])
run('type check (web app)', 'npx', ['tsc', '--noEmit', '-p', 'web'])
run('lint and format', 'npx', ['biome', 'check', '.'])

const report = join(mkdtempSync(join(tmpdir(), 'zona-test-')), 'vitest.json')
run(
  'unit and integration suites',
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
  {
    ...(pgUrl ? { ZONA_TEST_PG_URL: pgUrl } : {}),
  },
)
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  passed += r.numPassedTests
  failed += r.numFailedTests
  if (r.numPendingTests + r.numTodoTests > 0)
    process.stdout.write(`(${r.numPendingTests + r.numTodoTests} tests skipped, not counted as passed)\n`)
} else failed++

const accessFiles = readdirSync(join(root, 'tests/access'))
  .filter((f) => f.endsWith('.yaml') && f !== 'must-fail.yaml')
  .map((f) => `tests/access/${f}`)
process.stdout.write(`\n── access test files: zona test ${accessFiles.join(' ')}\n`)
const access = spawnSync('node', ['bin/zona.js', 'test', ...accessFiles], { cwd: root, encoding: 'utf8' })
process.stdout.write(access.stdout + access.stderr)
const m = /(\d+) passed, (\d+) failed\s*$/.exec(access.stdout)
if (m) {
  passed += Number(m[1])
  failed += Number(m[2])
}
results.push({ name: 'access test files', ok: access.status === 0, seconds: 0 })
if (access.status !== 0 && !m) failed++

// The browser suite needs Debian's Chromium: installed here when missing and we are root.
function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return true
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    process.stdout.write('\n── installing Debian chromium for the browser suite (apt-get install chromium)\n')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env })
    spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'inherit', env })
  }
  return existsSync('/usr/bin/chromium')
}
if (ensureChromium()) {
  const e2eReport = join(mkdtempSync(join(tmpdir(), 'zona-e2e-')), 'e2e.json')
  run('browser suite (Debian Chromium)', 'npx', [
    'vitest',
    'run',
    '--config',
    'test/e2e/vitest.config.ts',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${e2eReport}`,
  ])
  if (existsSync(e2eReport)) {
    const r = JSON.parse(readFileSync(e2eReport, 'utf8'))
    passed += r.numPassedTests
    failed += r.numFailedTests
  } else failed++
} else {
  process.stdout.write(
    "\n── browser suite: /usr/bin/chromium is missing. Install Debian's chromium package (as root: apt-get install chromium) and run npm test again.\n",
  )
  results.push({ name: 'browser suite (chromium missing: apt-get install chromium)', ok: false, seconds: 0 })
  failed++
}

process.stdout.write('\n── summary\n')
for (const r of results)
  process.stdout.write(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.seconds ? ` (${r.seconds.toFixed(1)} s)` : ''}\n`,
  )
process.stdout.write(`${dbNote}\n`)
const allOk = results.every((r) => r.ok)
if (!allOk && failed === 0) failed = results.filter((r) => !r.ok).length
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = allOk ? 0 : 1
