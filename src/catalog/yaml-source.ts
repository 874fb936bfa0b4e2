/**
 * YAML parsed with positions, so every error in a data file can name its line.
 * Shared by catalogs and access test files.
 */
import { LineCounter, type Node, parseDocument } from 'yaml'

export interface SourceIssue {
  file: string
  line: number
  /** The field at fault, dotted: roles[3].may_grant[0]. Empty for the whole file. */
  field: string
  message: string
}

export interface YamlSource {
  file: string
  value: unknown
  /** Line of the value at a path, or of its nearest existing parent (1-based). */
  lineOf(path: readonly (string | number)[]): number
  issue(path: readonly (string | number)[], message: string): SourceIssue
}

export type ParsedYaml = { ok: true; source: YamlSource } | { ok: false; issues: SourceIssue[] }

export function fieldName(path: readonly (string | number)[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '')
}

export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        file,
        line: lines.linePos(e.pos[0]).line,
        field: '',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    }
  }
  const lineOf = (path: readonly (string | number)[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined
      if (node && typeof node === 'object' && 'range' in node && node.range)
        return lines.linePos(node.range[0]).line
    }
    return 1
  }
  const source: YamlSource = {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    lineOf,
    issue: (path, message) => ({ file, line: lineOf(path), field: fieldName(path), message }),
  }
  return { ok: true, source }
}

export function formatIssue(i: SourceIssue): string {
  return `${i.file}:${i.line}: ${i.field ? `${i.field}: ` : ''}${i.message}`
}
