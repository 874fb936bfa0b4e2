import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERRORS, type ErrorCode } from './errors.ts'
import { STATUS } from './http/problem.ts'

describe('the error catalog', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

  it('documents every code with its status and title in docs/errors.md', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(doc, `docs/errors.md lacks ${code}`).toContain(
        `| \`${code}\` | ${STATUS[code as ErrorCode]} | ${e.title} |`,
      )
    }
  })

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(ERRORS).sort())
  })
})
