/** `zona test FILE...`: run access test files; exit 0 all pass, 1 a step failed, 2 a file is malformed. */
import { readFileSync } from 'node:fs'
import { readAccessTest } from '../access-tests/format.ts'
import { runPlan, type StepFailure, start } from '../access-tests/run.ts'
import { formatIssue } from '../catalog/yaml-source.ts'

export interface Output {
  out(line: string): void
  err(line: string): void
}

export function formatFailure(f: StepFailure): string {
  const because = f.explanation ? ` – ${f.explanation}` : ''
  return `${f.file}:${f.line}: step ${f.step}: ${f.what}: expected ${f.expected}, got ${f.actual}${because}`
}

export function runAccessTests(files: string[], io: Output): number {
  if (files.length === 0) {
    io.err('usage: zona test FILE...')
    return 2
  }
  let passed = 0
  let failed = 0
  let malformed = 0
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      io.err(`${file}:0: cannot read: ${(e as Error).message}`)
      malformed++
      continue
    }
    const read = readAccessTest(text, file)
    if (!read.ok) {
      for (const i of read.issues) io.err(formatIssue(i))
      malformed++
      continue
    }
    const started = start(read.plan)
    if (!started.ok) {
      io.err(`${file}:${started.line}: grants: ${started.message}`)
      malformed++
      continue
    }
    const result = runPlan(read.plan, started.engine)
    for (const f of result.failed) io.out(formatFailure(f))
    passed += result.passed
    failed += result.failed.length
  }
  if (malformed > 0) io.out(`${malformed} file${malformed === 1 ? '' : 's'} malformed, not run`)
  io.out(`${passed} passed, ${failed} failed`)
  return malformed > 0 ? 2 : failed > 0 ? 1 : 0
}
