/** Reading catalogs from files: the shipped presets and an operator's own copies. */
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Catalog, compileCatalog } from '../domain/catalog.ts'
import { parseYaml, type SourceIssue } from './yaml-source.ts'

export const PRESETS_DIR = fileURLToPath(new URL('../../presets/', import.meta.url))

export type CatalogLoad = { ok: true; catalog: Catalog } | { ok: false; issues: SourceIssue[] }

export function parseCatalog(text: string, file: string): CatalogLoad {
  const parsed = parseYaml(text, file)
  if (!parsed.ok) return parsed
  const compiled = compileCatalog(parsed.source.value)
  if (compiled.ok) return compiled
  return { ok: false, issues: compiled.issues.map((i) => parsed.source.issue(i.path, i.message)) }
}

export function loadCatalogFile(file: string): CatalogLoad {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    return {
      ok: false,
      issues: [{ file, line: 0, field: '', message: `cannot read: ${(e as Error).message}` }],
    }
  }
  return parseCatalog(text, file)
}

export function presetIds(): string[] {
  return readdirSync(PRESETS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort()
}

const cache = new Map<string, Catalog>()

/** A shipped preset by id; throws with every issue when the file is broken (a bug in the product). */
export function loadPreset(id: string): Catalog {
  const hit = cache.get(id)
  if (hit) return hit
  if (!presetIds().includes(id))
    throw new Error(`unknown preset ${id}; shipped presets: ${presetIds().join(', ')}`)
  const loaded = loadCatalogFile(join(PRESETS_DIR, `${id}.yaml`))
  if (!loaded.ok)
    throw new Error(loaded.issues.map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`).join('\n'))
  cache.set(id, loaded.catalog)
  return loaded.catalog
}
