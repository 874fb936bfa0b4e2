/**
 * The `zona test` and `zona catalog validate` commands, run as a user runs them: the real CLI in a
 * child process (`node bin/zona.js ...`), asserting exit codes and the exact lines it prints.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { LineCounter, type Node, parseDocument } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PRESETS = ['o2-cz', 'nos-pt', 'ovh', 'sk-isp', 'tim-business']

interface Run {
  status: number | null
  stdout: string[]
  stderr: string[]
}

function zona(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['bin/zona.js', ...args], { cwd: ROOT, encoding: 'utf8' })
  const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'))
  return { status: r.status, stdout: lines(r.stdout), stderr: lines(r.stderr) }
}

/** The 1-based line of each step of an access test file, read with the same YAML parser. */
function stepLines(file: string): number[] {
  const counter = new LineCounter()
  const doc = parseDocument(readFileSync(join(ROOT, file), 'utf8'), { lineCounter: counter })
  const steps = doc.get('steps', true) as { items: Node[] }
  return steps.items.map((n) => counter.linePos((n.range as [number, number, number])[0]).line)
}

/**
 * The 1-based line on which `target` occurs in `text`, found inside `context` (which defaults to the
 * target itself and must occur exactly once).
 */
function lineOf(text: string, target: string, context = target): number {
  const at = text.indexOf(context)
  expect(at, `marker ${JSON.stringify(context)}`).toBeGreaterThanOrEqual(0)
  expect(text.indexOf(context, at + 1), `marker ${JSON.stringify(context)} occurs once`).toBe(-1)
  return text.slice(0, at + context.indexOf(target)).split('\n').length
}

describe('zona test on the shipped access test files', () => {
  const files = PRESETS.map((p) => `tests/access/${p}.yaml`)

  it('passes every step of the five preset files and says how many', () => {
    const steps = files.reduce((n, f) => n + stepLines(f).length, 0)
    const r = zona('test', ...files)
    expect(r.stderr).toEqual([])
    expect(r.stdout).toEqual([`${steps} passed, 0 failed`])
    expect(r.status).toBe(0)
  })

  it.each(PRESETS)('%s: 40 to 80 steps, all passing on their own', (preset) => {
    const file = `tests/access/${preset}.yaml`
    const steps = stepLines(file).length
    expect(steps).toBeGreaterThanOrEqual(40)
    expect(steps).toBeLessThanOrEqual(80)
    const r = zona('test', file)
    expect(r.stdout.at(-1)).toBe(`${steps} passed, 0 failed`)
    expect(r.status).toBe(0)
  })
})

describe('zona test on must-fail.yaml', () => {
  const file = 'tests/access/must-fail.yaml'
  // What each step of the file wrongly expects, and what really happens.
  const wrong = [
    { what: 'check [petra, service.order, hq-mobile]', expected: 'deny', actual: 'allow' },
    {
      what: 'list [hana, node.view, service]',
      expected: '[branch-mobile]',
      actual: '[branch-mobile, branch-voip]',
    },
    { what: 'grant service-viewer on branch-voip to ota by hana', expected: 'allow', actual: 'deny' },
    { what: 'revoke account-viewer on acme-branch from hana by petra', expected: 'deny', actual: 'allow' },
    { what: 'check [hana, node.view, branch-mobile]', expected: 'allow', actual: 'deny' },
  ]

  it('exits 1 with one line per failed step: file:line, step number, expected and actual', () => {
    const lines = stepLines(file)
    expect(lines).toHaveLength(wrong.length)
    const r = zona('test', file)
    expect(r.status).toBe(1)
    expect(r.stdout).toHaveLength(wrong.length + 1)
    wrong.forEach((w, i) => {
      const line = r.stdout[i] as string
      const prefix = `${file}:${lines[i]}: step ${i + 1}: ${w.what}: expected ${w.expected}, got ${w.actual}`
      expect(line.startsWith(prefix), `${line}\n  should start with\n${prefix}`).toBe(true)
      // and the explanation follows
      expect(line.length).toBeGreaterThan(prefix.length + 3)
    })
    expect(r.stdout.at(-1)).toBe(`0 passed, ${wrong.length} failed`)
  })

  it('counts the failures together with the passes of other files', () => {
    const passing = stepLines('tests/access/sk-isp.yaml').length
    const r = zona('test', 'tests/access/sk-isp.yaml', file)
    expect(r.status).toBe(1)
    expect(r.stdout.at(-1)).toBe(`${passing} passed, ${wrong.length} failed`)
  })
})

describe('zona test on malformed files', () => {
  const cases = [
    {
      file: 'tests/access/malformed/bad-yaml.yaml',
      line: 13,
      marker: '[petra, service.order, hq-mobile, expect',
      message: /Flow sequence/,
    },
    {
      file: 'tests/access/malformed/unknown-role.yaml',
      line: 16,
      marker: 'role: super-admin',
      message: /steps\[1\]\.grant\.role: super-admin is not a role of o2-cz/,
    },
    {
      file: 'tests/access/malformed/no-expect.yaml',
      line: 14,
      marker: '[petra, service.cancel, hq-mobile] }',
      message: /steps\[2\]: the check step has no expect/,
    },
  ]

  it.each(cases)('$file: exit 2 naming line $line', ({ file, line, marker, message }) => {
    expect(lineOf(readFileSync(join(ROOT, file), 'utf8'), marker)).toBe(line)
    const r = zona('test', file)
    expect(r.status).toBe(2)
    const first = r.stderr[0] ?? ''
    expect(first.startsWith(`${file}:${line}: `), first).toBe(true)
    expect(first).toMatch(message)
    expect(r.stdout.at(-1)).toBe('0 passed, 0 failed')
  })

  it('a malformed file wins over failures: exit 2, the good files still run', () => {
    const r = zona('test', 'tests/access/must-fail.yaml', 'tests/access/malformed/no-expect.yaml')
    expect(r.status).toBe(2)
    expect(r.stdout).toContain('1 file malformed, not run')
    expect(r.stdout.at(-1)).toBe('0 passed, 5 failed')
  })
})

describe('zona catalog validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zona-catalog-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const o2 = readFileSync(join(ROOT, 'presets/o2-cz.yaml'), 'utf8')

  /** A copy of o2-cz with one edit: `from` must occur once in the preset. */
  function broken(name: string, from: string, to: string): string {
    expect(o2.split(from)).toHaveLength(2)
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, o2.replace(from, to))
    return file
  }

  const cases = [
    {
      name: 'unknown permission',
      file: () =>
        broken(
          'unknown-permission',
          '    permissions: [node.view, service.block]\n',
          '    permissions: [node.view, service.block, service.teleport]\n',
        ),
      marker: 'service.teleport',
      field: 'roles[9].permissions[2]',
      message: 'unknown permission service.teleport',
    },
    {
      name: 'may_grant naming a missing role',
      file: () =>
        broken(
          'missing-role',
          '    may_grant:\n      - customer-viewer\n',
          '    may_grant:\n      - customer-viewer\n      - customer-auditor\n',
        ),
      marker: 'customer-auditor',
      field: 'roles[1].may_grant[1]',
      message: 'may_grant names customer-auditor, which is not a role',
    },
    {
      name: 'a role that could grant above itself',
      file: () =>
        broken(
          'above-itself',
          '[account-admin-no-billing, account-viewer,',
          '[account-admin-no-billing, account-accountant, account-viewer,',
        ),
      marker: 'account-admin-no-billing, account-accountant',
      field: 'roles[5].may_grant[1]',
      message:
        'account-admin-no-billing could grant above itself: account-accountant can give billing.invoices.view',
    },
    {
      name: 'an account-level role granting a customer-level role',
      file: () =>
        broken(
          'level',
          '    may_grant:\n      - account-admin\n',
          '    may_grant:\n      - customer-accountant\n      - account-admin\n',
        ),
      marker: 'customer-accountant',
      context: 'may_grant:\n      - customer-accountant',
      field: 'roles[4].may_grant[0]',
      message:
        'account-admin (scope account) cannot grant customer-accountant, whose scope customer is above its own',
    },
  ]

  it.each(cases)(
    '$name: exit 1 naming the line and the field',
    ({ file, marker, context, field, message }) => {
      const path = file()
      // the line the edit put the offending value on
      const line = lineOf(readFileSync(path, 'utf8'), marker, context)
      const r = zona('catalog', 'validate', path)
      expect(r.status).toBe(1)
      expect(r.stderr).toHaveLength(2)
      const [issue, summary] = r.stderr as [string, string]
      expect(issue.startsWith(`${path}:${line}: ${field}: `), issue).toBe(true)
      expect(issue).toContain(message)
      expect(summary).toBe(`${path}: 1 error`)
    },
  )

  it('every shipped preset: exit 0', () => {
    const r = zona('catalog', 'validate', ...PRESETS.map((p) => `presets/${p}.yaml`))
    expect(r.stderr).toEqual([])
    expect(r.stdout).toHaveLength(PRESETS.length)
    for (const [i, p] of PRESETS.entries())
      expect(r.stdout[i]).toMatch(new RegExp(`^presets/${p}\\.yaml: ok – ${p}, `))
    expect(r.status).toBe(0)
  })

  it('shipped presets by id: exit 0', () => {
    const r = zona('catalog', 'validate', ...PRESETS)
    expect(r.status).toBe(0)
  })
})
