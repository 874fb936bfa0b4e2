/**
 * Loading a customer's account/service tree: a few nodes at a time (POST …/nodes) or a whole
 * billing export (POST …/import, `zona import`). Validation first and all-or-nothing (I7): every
 * bad row is reported and nothing is written if any row is bad. The write is one transaction
 * through `write`, so the access model gets the new nodes at commit, and one audit event
 * records the counts (not one event per node).
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import type { CustomerTree } from '../../domain/tree.ts'
import { ZonaError } from '../../errors.ts'
import type { ImportProgress } from '../../import/jobs.ts'
import { type ReadResult, type RowProblem, readCsvImport, readJsonImport } from '../../import/read.ts'
import { type PlannedNode, planImport } from '../../import/validate.ts'
import { writeNodes } from '../../import/write.ts'
import { isUniqueViolation } from '../../store/errors.ts'
import { type Actor, audit, write, type Zona } from '../context.ts'

export type ImportInput =
  /** The parsed JSON document; `root` prefixes field names in problems (default 'body'). */
  { format: 'json'; body: unknown; root?: string } | { format: 'csv'; text: string }

export interface ImportResult {
  customerId: string
  accounts: number
  services: number
  /** The new node ids, parents first. */
  ids: string[]
}

/** The import was refused: `problems` names every bad row; nothing was written. */
export class ImportRejected extends ZonaError {
  constructor(readonly problems: RowProblem[]) {
    const first = problems[0] as RowProblem
    super(
      'VALIDATION_FAILED',
      problems.length === 1
        ? `${first.field} ${first.detail}; nothing was imported`
        : `${problems.length} problems, the first: ${first.field} ${first.detail}; nothing was imported`,
      { field: first.field },
    )
  }
}

/**
 * Imports a tree into an existing customer: parse, validate against the tree as it is under the
 * access lock, write in chunks reporting progress, audit 'tree.imported'. Throws ImportRejected
 * (nothing written) when a row is bad, NOT_FOUND when the customer does not exist.
 *
 * @example
 * const text = await readFile('tree.csv', 'utf8')
 * await importTree(zona, { id: 'operator:cli' }, 'acme', { format: 'csv', text }, (p) => console.log(p))
 */
export async function importTree(
  zona: Zona,
  actor: Actor,
  customerId: string,
  input: ImportInput,
  onProgress: (progress: ImportProgress) => void = () => {},
): Promise<ImportResult> {
  onProgress({ state: 'validating', processed: 0, total: 0 })
  const read =
    input.format === 'csv' ? readCsvImport(input.text) : readJsonImport(input.body, customerId, input.root)
  return writeTree(zona, actor, customerId, read, {
    action: 'tree.imported',
    format: input.format,
    onProgress,
  })
}

/**
 * Adds a few accounts and services (each {id, parent, kind, name, …}); problems name
 * `body.nodes[i].<field>`. Audited as one 'tree.nodes_added' event with the ids.
 */
export async function addNodes(
  zona: Zona,
  actor: Actor,
  customerId: string,
  nodes: unknown[],
): Promise<ImportResult> {
  const read = readJsonImport({ nodes }, customerId, 'body')
  return writeTree(zona, actor, customerId, read, { action: 'tree.nodes_added', format: 'json' })
}

/** Reads an import file for the CLI: .csv as CSV, anything else as JSON (problems name the file). */
export async function readImportFile(path: string): Promise<ImportInput> {
  const text = await readFile(path, 'utf8')
  if (extname(path).toLowerCase() === '.csv') return { format: 'csv', text }
  try {
    return { format: 'json', body: JSON.parse(text), root: path }
  } catch (e) {
    throw new ZonaError(
      'VALIDATION_FAILED',
      `${path} is neither CSV (.csv) nor valid JSON: ${(e as Error).message}`,
      {
        field: path,
      },
    )
  }
}

async function writeTree(
  zona: Zona,
  actor: Actor,
  customerId: string,
  read: ReadResult,
  options: {
    action: 'tree.imported' | 'tree.nodes_added'
    format: 'json' | 'csv'
    onProgress?: (progress: ImportProgress) => void
  },
): Promise<ImportResult> {
  const progress = options.onProgress ?? (() => {})
  try {
    return await write(zona, async (trx, engine) => {
      const customer = await trx
        .selectFrom('customers')
        .select('id')
        .where('id', '=', customerId)
        .executeTakeFirst()
      if (!customer)
        throw new ZonaError('NOT_FOUND', `there is no customer ${customerId}`, { field: 'params.id' })
      // Decided under the access lock: the tree cannot change between this check and the commit.
      const plan = planImport(customerId, read.nodes, engine.tree)
      // In reading order; a stable sort keeps a row's own problems before how it fits the tree.
      const problems = [...read.problems, ...plan.problems].sort((a, b) => (a.row ?? 0) - (b.row ?? 0))
      if (problems.length > 0) throw new ImportRejected(problems)
      if (plan.ordered.length === 0)
        throw new ZonaError('VALIDATION_FAILED', 'the import has no accounts and no services', {
          field: 'body',
        })
      const total = plan.ordered.length
      progress({ state: 'writing', processed: 0, total })
      await writeNodes(trx, customerId, plan.ordered, (processed) =>
        progress({ state: 'writing', processed, total }),
      )
      const ids = plan.ordered.map((n) => n.id)
      await audit(trx, actor, {
        action: options.action,
        customerId,
        nodeId: customerId,
        after: {
          format: options.format,
          accounts: plan.accounts,
          services: plan.services,
          // A handful of ids helps a reader; 100 000 would bloat the audit log.
          ...(ids.length <= 100 ? { ids } : {}),
        },
      })
      return {
        result: { customerId, accounts: plan.accounts, services: plan.services, ids },
        apply: (e) => addToTree(e.tree, plan.ordered),
      }
    })
  } catch (e) {
    // The plan is made under the lock, so this means a node was added outside the product.
    if (isUniqueViolation(e))
      throw new ZonaError('CONFLICT', 'a node id of the import was added meanwhile; nothing was imported', {
        field: 'body',
      })
    throw e
  }
}

function addToTree(tree: CustomerTree, nodes: readonly PlannedNode[]): void {
  for (const n of nodes) {
    if (n.kind === 'account') tree.addAccount(n.id, n.parentId)
    else tree.addService(n.id, n.parentId, n.serviceType ?? undefined)
  }
}
