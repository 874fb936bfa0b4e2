/**
 * How the rows of an import fit together and with the tree already there: ids unique (in the
 * file and in the database), every parent known at this customer, no service under a service,
 * no cycles. Returns the nodes parents-first, ready to write and to add to the engine's tree,
 * or every problem found. Pure: it reads the tree it is given and nothing else.
 */
import type { CustomerTree } from '../domain/tree.ts'
import { fieldOf, type NodeSpec, type RowProblem } from './read.ts'

export interface PlannedNode extends NodeSpec {
  /** Resolved: the customer when the input named none. */
  parentId: string
}

export interface ImportPlan {
  /** Parents before children. */
  ordered: PlannedNode[]
  accounts: number
  services: number
  problems: RowProblem[]
}

/**
 * @example
 * const plan = planImport('acme', read.nodes, zona.access.engine.tree)
 * if (plan.problems.length) … else write plan.ordered
 */
export function planImport(customerId: string, nodes: readonly NodeSpec[], tree: CustomerTree): ImportPlan {
  const found: { at: number; problem: RowProblem }[] = []
  // By position in the input: two rows may share an id, and both must be told apart.
  const bad = new Set<number>()
  const report = (i: number, name: string, detail: string) => {
    const origin = (nodes[i] as NodeSpec).origin
    found.push({ at: i, problem: { field: fieldOf(origin, name), detail, row: origin.row } })
    bad.add(i)
  }

  // The node of this customer already in the tree, or undefined (another customer's is as unknown).
  const existingKind = (id: string) => {
    const n = tree.indexOf(id)
    if (n < 0 || tree.idAt(tree.customerAt(n)) !== customerId) return undefined
    return tree.kindAt(n)
  }

  const firstAt = new Map<string, number>()
  nodes.forEach((node, i) => {
    const first = firstAt.get(node.id)
    if (first !== undefined)
      report(i, 'id', `${node.id} appears twice (first at ${fieldOf((nodes[first] as NodeSpec).origin)})`)
    else firstAt.set(node.id, i)
    if (tree.has(node.id)) report(i, 'id', `${node.id} is already in use by an existing node`)
  })

  const planned: PlannedNode[] = []
  const children = new Map<string, number[]>()
  const roots: number[] = []
  nodes.forEach((node, i) => {
    const parentId = node.parent ?? customerId
    planned.push({ ...node, parentId })
    if (parentId === node.id) {
      report(i, 'parent', 'a node cannot be its own parent')
      return
    }
    const inFile = firstAt.get(parentId)
    if (inFile !== undefined) {
      if ((nodes[inFile] as NodeSpec).kind === 'service')
        report(i, 'parent', `${parentId} is a service; only the customer and accounts have children`)
      const list = children.get(parentId)
      if (list) list.push(i)
      else children.set(parentId, [i])
      return
    }
    const existing = existingKind(parentId)
    if (existing === 'service')
      report(i, 'parent', `${parentId} is a service; only the customer and accounts have children`)
    else if (existing === undefined) report(i, 'parent', `unknown parent ${parentId}`)
    roots.push(i)
  })

  // Breadth-first from the rows hanging on the existing tree; a good row not reached sits on a cycle.
  const order: number[] = roots.filter((i) => !bad.has(i))
  for (let k = 0; k < order.length; k++) {
    const below = children.get((nodes[order[k] as number] as NodeSpec).id)
    if (below) for (const c of below) if (!bad.has(c)) order.push(c)
  }
  if (order.length + bad.size < nodes.length) {
    const reached = new Set(order)
    nodes.forEach((node, i) => {
      if (!bad.has(i) && !reached.has(i) && onCycle(node, nodes, firstAt, customerId))
        report(i, 'parent', `${node.parent} leads back to ${node.id}: the parents form a cycle`)
    })
  }
  const ordered = order.map((i) => planned[i] as PlannedNode)
  // In input order (a stable sort), as a reader goes through the file.
  const problems = found.sort((a, b) => a.at - b.at).map((f) => f.problem)

  let accounts = 0
  for (const p of ordered) if (p.kind === 'account') accounts++
  return { ordered, accounts, services: ordered.length - accounts, problems }
}

function onCycle(
  start: NodeSpec,
  nodes: readonly NodeSpec[],
  firstAt: Map<string, number>,
  customerId: string,
): boolean {
  const seen = new Set<string>()
  let node: NodeSpec | undefined = start
  while (node) {
    if (seen.has(node.id)) return node.id === start.id
    seen.add(node.id)
    const at = firstAt.get(node.parent ?? customerId)
    node = at === undefined ? undefined : nodes[at]
  }
  return false
}
