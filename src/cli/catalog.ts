/** `zona catalog validate FILE...` and `zona catalog show ID|FILE`. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadCatalogFile, PRESETS_DIR, presetIds } from '../catalog/load.ts'
import { formatIssue } from '../catalog/yaml-source.ts'
import type { Output } from './access-test.ts'

function pathOf(arg: string): string {
  return !existsSync(arg) && presetIds().includes(arg) ? join(PRESETS_DIR, `${arg}.yaml`) : arg
}

export function validateCatalogs(files: string[], io: Output): number {
  if (files.length === 0) {
    io.err('usage: zona catalog validate FILE...   (a path, or a shipped preset id)')
    return 2
  }
  let bad = 0
  for (const arg of files) {
    const file = pathOf(arg)
    const loaded = loadCatalogFile(file)
    if (loaded.ok) {
      const c = loaded.catalog
      io.out(`${file}: ok – ${c.id}, ${c.roles.length} roles, ${c.permissions.length} permissions`)
    } else {
      bad++
      for (const i of loaded.issues) io.err(formatIssue(i))
      io.err(`${file}: ${loaded.issues.length} error${loaded.issues.length === 1 ? '' : 's'}`)
    }
  }
  return bad > 0 ? 1 : 0
}

export function showCatalog(arg: string | undefined, io: Output): number {
  if (!arg) {
    io.out(`shipped presets: ${presetIds().join(', ')}`)
    return 0
  }
  const loaded = loadCatalogFile(pathOf(arg))
  if (!loaded.ok) {
    for (const i of loaded.issues) io.err(formatIssue(i))
    return 1
  }
  const c = loaded.catalog
  io.out(`${c.id} – ${c.name[c.language]} (${c.operator}), language ${c.language}`)
  for (const r of c.roles) {
    const limits = [
      r.limitPerCustomer ? `${r.limitPerCustomer} per customer` : '',
      r.limitPerScope ? `${r.limitPerScope} per ${r.scope}` : '',
      r.appointedByOperator ? 'appointed by the operator' : '',
    ].filter(Boolean)
    io.out(
      `\n${r.id} – ${r.name[c.language]} / ${r.name.en} [${r.scope}]${limits.length ? ` (${limits.join(', ')})` : ''}`,
    )
    io.out(`  gives: ${c.permissionsOf(r.mask).join(', ') || '–'}`)
    for (const [o, m] of r.options) io.out(`  option ${o}: + ${c.permissionsOf(m).join(', ')}`)
    if (r.mayGrant.size) io.out(`  may grant: ${[...r.mayGrant].join(', ')}`)
    if (r.mayNameSuccessor) io.out('  may name a successor')
  }
  return 0
}
