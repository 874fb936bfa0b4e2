/**
 * Reading an import into node specs, each remembering where it came from so that every
 * problem names its place: `body.services[17].parent` for JSON, `csv line 18: parent` for CSV.
 *
 * Accepted forms:
 * - JSON flat: `{accounts: [{id, name, parent?}], services: [{id, parent, name, service_type, …}]}`
 *   (parent defaults to the customer), or `{nodes: [{kind, id, parent, …}]}`.
 * - JSON nested, as in the access-test files: accounts with `accounts` (sub-accounts) and
 *   `services` (objects or plain ids), optionally wrapped as `{customer, name, accounts, services}`.
 * - CSV with a header row: kind,id,parent,name,service_type,tariff,status,contract_number,
 *   contact_email (any order; add_ons optional, `;`-separated); one row per node.
 * Only the shape of each row is checked here; how rows fit together is validate.ts's job.
 */
import type { ServiceStatus } from '../store/schema.ts'
import { parseCsv } from './csv.ts'

export type ImportKind = 'account' | 'service'

export interface RowProblem {
  /** Where: `body.services[17].parent`, `csv line 18: parent`. */
  field: string
  detail: string
  /** The position of the row in the input, to list problems in reading order (internal). */
  row?: number
}

/** Where a node came from in the input; `row` counts rows in reading order (the line for CSV). */
export type Origin =
  | { format: 'json'; path: string; row: number }
  | { format: 'csv'; line: number; row: number }

type Report = (problem: RowProblem) => void

export interface NodeSpec {
  id: string
  kind: ImportKind
  /** Undefined: directly under the customer. */
  parent: string | undefined
  name: string
  serviceType: string | null
  tariff: string | null
  addOns: string[]
  status: ServiceStatus | null
  contractNumber: string | null
  contactEmail: string | null
  origin: Origin
}

export interface ReadResult {
  nodes: NodeSpec[]
  problems: RowProblem[]
}

/** The field name of a problem about `name` of the node from `origin`. */
export function fieldOf(origin: Origin, name?: string): string {
  if (origin.format === 'csv') return name ? `csv line ${origin.line}: ${name}` : `csv line ${origin.line}`
  return name ? `${origin.path}.${name}` : origin.path
}

const ID = /^[^\s\p{Cc}]+$/u
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const STATUSES: readonly ServiceStatus[] = ['active', 'blocked', 'cancelled']
const MAX_ID = 200
const MAX_TEXT = 500

/** The node fields, in the words of the API (snake_case), with what each accepts. */
const COMMON_FIELDS = [
  'id',
  'kind',
  'parent',
  'name',
  'tariff',
  'add_ons',
  'contract_number',
  'contact_email',
]
const SERVICE_FIELDS = ['service_type', 'type', 'status']

type Raw = Record<string, unknown>

/** Checks and converts one node's fields; `value` gives a field's raw value (undefined when absent or empty). */
function readNode(
  origin: Origin,
  kind: ImportKind,
  value: (name: string) => unknown,
  report: Report,
  defaults: { parent?: string | undefined } = {},
): NodeSpec | undefined {
  let ok = true
  const bad = (name: string, detail: string) => {
    report({ field: fieldOf(origin, name), detail })
    ok = false
  }
  const text = (name: string, max = MAX_TEXT): string | null => {
    const v = value(name)
    if (v === undefined || v === null || v === '') return null
    if (typeof v !== 'string') {
      bad(name, 'must be a string')
      return null
    }
    if (v.length > max) bad(name, `must be at most ${max} characters`)
    return v
  }
  const idOf = (name: string): string | null => {
    const v = text(name, MAX_ID)
    if (v !== null && !ID.test(v)) bad(name, 'must not contain spaces or control characters')
    return v
  }

  const id = idOf('id')
  if (id === null && ok) bad('id', 'is required')
  const parent = idOf('parent') ?? defaults.parent
  const name = text('name') ?? id ?? ''
  const serviceType = text('service_type') ?? text('type')
  const status = text('status')
  if (kind === 'account') {
    for (const f of ['service_type', 'type', 'status'])
      if (value(f) !== undefined && value(f) !== null && value(f) !== '')
        bad(f, 'only services have this field')
  } else if (status !== null && !STATUSES.includes(status as ServiceStatus))
    bad('status', `unknown status ${status}: use ${STATUSES.join(', ')}`)
  const tariff = text('tariff')
  const contractNumber = text('contract_number')
  const contactEmail = text('contact_email', 254)
  if (contactEmail !== null && !EMAIL.test(contactEmail)) bad('contact_email', 'is not an e-mail address')
  let addOns: string[] = []
  const rawAddOns = value('add_ons')
  if (typeof rawAddOns === 'string')
    addOns = rawAddOns
      .split(';')
      .map((a) => a.trim())
      .filter((a) => a !== '')
  else if (Array.isArray(rawAddOns)) {
    if (rawAddOns.every((a) => typeof a === 'string' && a.length > 0 && a.length <= MAX_TEXT))
      addOns = rawAddOns as string[]
    else bad('add_ons', 'must be a list of non-empty strings')
  } else if (rawAddOns !== undefined && rawAddOns !== null) bad('add_ons', 'must be a list of strings')

  // A row with other problems still takes part in planning, so its children do not all
  // report an unknown parent as well; the problems above keep the import from being written.
  if (id === null) return undefined
  return {
    id,
    kind,
    parent,
    name,
    serviceType: kind === 'service' ? serviceType : null,
    tariff,
    addOns,
    status: kind === 'service' ? ((status as ServiceStatus | null) ?? 'active') : null,
    contractNumber,
    contactEmail,
    origin,
  }
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function unknownFields(raw: Raw, allowed: readonly string[], origin: Origin, report: Report): void {
  for (const key of Object.keys(raw))
    if (!allowed.includes(key)) report({ field: fieldOf(origin, key), detail: 'is not a known field' })
}

/**
 * Reads the JSON form of an import. `root` prefixes field names ('body' for the HTTP API).
 *
 * @example
 * readJsonImport({ accounts: [{ id: 'A1', services: ['S1'] }] }, 'acme').nodes.map((n) => n.id) // ['A1', 'S1']
 */
export function readJsonImport(body: unknown, customerId: string, root = 'body'): ReadResult {
  const nodes: NodeSpec[] = []
  const problems: RowProblem[] = []
  let row = 0
  const add: Report = (p) => problems.push({ ...p, row })
  if (!isObject(body)) {
    add({ field: root, detail: 'must be an object with accounts and services (or nodes)' })
    return { nodes, problems }
  }
  const top: Origin = { format: 'json', path: root, row }
  unknownFields(body, ['customer', 'name', 'accounts', 'services', 'nodes'], top, add)
  if (body.customer !== undefined && body.customer !== customerId)
    add({
      field: `${root}.customer`,
      detail: `this import is for customer ${String(body.customer)}, not ${customerId}`,
    })

  const list = (raw: unknown, path: string): unknown[] => {
    if (raw === undefined || raw === null) return []
    if (Array.isArray(raw)) return raw
    add({ field: path, detail: 'must be a list' })
    return []
  }

  const service = (raw: unknown, path: string, nestedParent: string | undefined) => {
    const origin: Origin = { format: 'json', path, row: ++row }
    if (typeof raw === 'string') raw = { id: raw }
    if (!isObject(raw)) {
      add({ field: path, detail: 'must be an object or a service id' })
      return
    }
    unknownFields(raw, [...COMMON_FIELDS, ...SERVICE_FIELDS], origin, add)
    if (raw.kind !== undefined && raw.kind !== 'service')
      add({ field: `${path}.kind`, detail: 'is service in a list of services' })
    checkNestedParent(raw, origin, nestedParent)
    const node = readNode(origin, 'service', (f) => raw[f], add, { parent: nestedParent })
    if (node) nodes.push(node)
  }

  const account = (raw: unknown, path: string, nestedParent: string | undefined) => {
    const origin: Origin = { format: 'json', path, row: ++row }
    if (!isObject(raw)) {
      add({ field: path, detail: 'must be an object' })
      return
    }
    // Service fields are let through here so the problem says why they do not fit an account.
    unknownFields(raw, [...COMMON_FIELDS, ...SERVICE_FIELDS, 'accounts', 'services'], origin, add)
    if (raw.kind !== undefined && raw.kind !== 'account')
      add({ field: `${path}.kind`, detail: 'is account in a list of accounts' })
    checkNestedParent(raw, origin, nestedParent)
    const node = readNode(origin, 'account', (f) => raw[f], add, { parent: nestedParent })
    if (node) nodes.push(node)
    // Children follow their account even when it is bad, so their own problems are reported too.
    const self = typeof raw.id === 'string' ? raw.id : undefined
    for (const [i, a] of list(raw.accounts, `${path}.accounts`).entries())
      account(a, `${path}.accounts[${i}]`, self)
    for (const [i, s] of list(raw.services, `${path}.services`).entries())
      service(s, `${path}.services[${i}]`, self)
  }

  const checkNestedParent = (raw: Raw, origin: Origin, nestedParent: string | undefined) => {
    if (nestedParent !== undefined && raw.parent !== undefined && raw.parent !== nestedParent)
      add({
        field: fieldOf(origin, 'parent'),
        detail: `is ${String(raw.parent)} but the node is listed under ${nestedParent}`,
      })
  }

  for (const [i, a] of list(body.accounts, `${root}.accounts`).entries())
    account(a, `${root}.accounts[${i}]`, undefined)
  for (const [i, s] of list(body.services, `${root}.services`).entries())
    service(s, `${root}.services[${i}]`, undefined)
  list(body.nodes, `${root}.nodes`).forEach((raw, i) => {
    const path = `${root}.nodes[${i}]`
    if (!isObject(raw) || (raw.kind !== 'account' && raw.kind !== 'service')) row++
    if (!isObject(raw)) {
      add({ field: path, detail: 'must be an object' })
      return
    }
    if (raw.kind === 'account') account(raw, path, undefined)
    else if (raw.kind === 'service') service(raw, path, undefined)
    else
      add({
        field: `${path}.kind`,
        detail:
          raw.kind === undefined
            ? 'is required: account or service'
            : `unknown kind ${String(raw.kind)}: use account or service`,
      })
  })
  return { nodes, problems }
}

export const CSV_COLUMNS = [
  'kind',
  'id',
  'parent',
  'name',
  'service_type',
  'tariff',
  'status',
  'contract_number',
  'contact_email',
  'add_ons',
] as const

/**
 * Reads the CSV form of an import: a header row naming the columns, then one node a row.
 *
 * @example
 * readCsvImport('kind,id,parent,name\naccount,A1,,Main\nservice,S1,A1,+420 601 000 000\n')
 */
export function readCsvImport(text: string): ReadResult {
  const nodes: NodeSpec[] = []
  const problems: RowProblem[] = []
  const add: Report = (p) => problems.push(p)
  const parsed = parseCsv(text)
  for (const p of parsed.problems) add({ field: `csv line ${p.line}`, detail: p.detail, row: p.line })
  const [header, ...rows] = parsed.records
  if (!header) {
    add({ field: 'csv line 1', detail: `the file is empty; expected a header: ${CSV_COLUMNS.join(',')}` })
    return { nodes, problems }
  }
  const columns = new Map<string, number>()
  header.cells.forEach((raw, i) => {
    const name = raw.trim().toLowerCase()
    if (!(CSV_COLUMNS as readonly string[]).includes(name))
      add({
        field: `csv line ${header.line}: ${raw}`,
        detail: `is not a column of the import; columns: ${CSV_COLUMNS.join(',')}`,
      })
    else if (columns.has(name))
      add({ field: `csv line ${header.line}: ${name}`, detail: 'the column appears twice' })
    else columns.set(name, i)
  })
  for (const required of ['kind', 'id'])
    if (!columns.has(required))
      add({ field: `csv line ${header.line}: ${required}`, detail: `the header has no ${required} column` })
  if (!columns.has('kind') || !columns.has('id')) return { nodes, problems }

  for (const row of rows) {
    const origin: Origin = { format: 'csv', line: row.line, row: row.line }
    const atRow: Report = (p) => add({ ...p, row: row.line })
    if (row.cells.length !== header.cells.length) {
      atRow({
        field: fieldOf(origin),
        detail: `has ${row.cells.length} cells where the header has ${header.cells.length}`,
      })
      continue
    }
    const value = (name: string) => {
      const i = columns.get(name)
      if (i === undefined) return undefined
      const v = (row.cells[i] as string).trim()
      return v === '' ? undefined : v
    }
    const kind = value('kind')
    if (kind !== 'account' && kind !== 'service') {
      atRow({
        field: fieldOf(origin, 'kind'),
        detail:
          kind === undefined
            ? 'is required: account or service'
            : `unknown kind ${kind}: use account or service`,
      })
      continue
    }
    const node = readNode(origin, kind, value, atRow)
    if (node) nodes.push(node)
  }
  return { nodes, problems }
}
