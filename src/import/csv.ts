/**
 * CSV both ways (RFC 4180): reading an import file with the line number of every record, and
 * writing cells for the audit export. Small on purpose: quoted fields, doubled quotes, CR/LF,
 * line breaks inside quotes. No dependency, because what it must report (the physical line a
 * record starts on) is exactly what generic parsers hide.
 */

export interface CsvRecord {
  /** 1-based physical line the record starts on (line 1 is the header). */
  line: number
  cells: string[]
}

export interface CsvProblem {
  line: number
  detail: string
}

/**
 * Splits CSV text into records. Blank lines are skipped; a byte-order mark is ignored.
 *
 * @example
 * parseCsv('kind,id\naccount,A1\n').records // [{line: 1, cells: ['kind','id']}, {line: 2, cells: ['account','A1']}]
 */
export function parseCsv(text: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  const records: CsvRecord[] = []
  const problems: CsvProblem[] = []
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const n = s.length
  let i = 0
  let line = 1
  while (i < n) {
    const start = line
    const cells: string[] = []
    let cell = ''
    let quoted = false
    let atCellStart = true
    let blank = true
    for (;;) {
      if (i >= n) {
        if (quoted)
          problems.push({ line: start, detail: 'a quoted cell is not closed before the end of the file' })
        break
      }
      const c = s[i] as string
      if (quoted) {
        if (c === '"') {
          if (s[i + 1] === '"') {
            cell += '"'
            i += 2
          } else {
            quoted = false
            i++
          }
        } else {
          if (c === '\n') line++
          cell += c
          i++
        }
        continue
      }
      if (c === '"' && atCellStart) {
        quoted = true
        atCellStart = false
        blank = false
        i++
      } else if (c === ',') {
        cells.push(cell)
        cell = ''
        atCellStart = true
        blank = false
        i++
      } else if (c === '\r' || c === '\n') {
        i += c === '\r' && s[i + 1] === '\n' ? 2 : 1
        line++
        break
      } else {
        cell += c
        atCellStart = false
        if (c !== ' ' && c !== '\t') blank = false
        i++
      }
    }
    if (blank && cell.trim() === '') continue
    cells.push(cell)
    records.push({ line: start, cells })
  }
  return { records, problems }
}

/**
 * One cell, quoted when it must be (comma, quote, line break, leading or trailing space). Text that
 * a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe (OWASP
 * CSV injection); numbers stay as they are.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One record with its CRLF terminator, as RFC 4180 asks. */
export function csvRow(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`
}
