/**
 * What an application using casbin, CASL or Cerbos keeps about its customer tree itself: each
 * node's parent (to hand the checker a node's ancestors) and a pre-order numbering (a nested-set
 * column in a database) to turn "these grant nodes" into "these services, in tree order". The
 * peers decide which grants give a permission; listing the nodes under them is the application's.
 */
import { type CustomerSpec, KIND_SERVICE, nodeId } from '../../generate.ts'

export const KINDS = ['customer', 'account', 'service'] as const
export type Kind = (typeof KINDS)[number]

export class AppTree {
  readonly ids: string[]
  private readonly index = new Map<string, number>()
  private readonly parent: Int32Array
  private readonly kind: Uint8Array
  private readonly order: Int32Array
  private readonly pre: Int32Array
  private readonly end: Int32Array

  constructor(spec: CustomerSpec) {
    this.ids = Array.from({ length: spec.nodes }, (_, k) => nodeId(spec, k))
    this.ids.forEach((id, k) => {
      this.index.set(id, k)
    })
    this.parent = spec.parent
    this.kind = spec.kind
    this.order = spec.order
    this.pre = spec.pre
    this.end = spec.end
  }

  has(id: string): boolean {
    return this.index.has(id)
  }

  kindOf(id: string): Kind | undefined {
    const k = this.index.get(id)
    return k === undefined ? undefined : KINDS[this.kind[k] as number]
  }

  parentOf(id: string): string | undefined {
    const k = this.index.get(id)
    if (k === undefined) return undefined
    const p = this.parent[k] as number
    return p < 0 ? undefined : this.ids[p]
  }

  /** The node and its ancestors up to the customer (empty for an unknown node). */
  path(id: string): string[] {
    const out: string[] = []
    let k = this.index.get(id) ?? -1
    while (k >= 0) {
      out.push(this.ids[k] as string)
      k = this.parent[k] as number
    }
    return out
  }

  /** Services in the subtrees of the given nodes, in tree order, at most `limit`. */
  servicesUnder(nodes: Iterable<string>, limit = Number.POSITIVE_INFINITY): string[] {
    const ranges: [number, number][] = []
    for (const id of nodes) {
      const k = this.index.get(id)
      if (k !== undefined) ranges.push([this.pre[k] as number, this.end[k] as number])
    }
    ranges.sort((a, b) => a[0] - b[0])
    const out: string[] = []
    let done = -1
    for (const [start, end] of ranges) {
      for (let p = Math.max(start, done); p < end; p++) {
        const k = this.order[p] as number
        if (this.kind[k] !== KIND_SERVICE) continue
        if (out.length >= limit) return out
        out.push(this.ids[k] as string)
      }
      done = Math.max(done, end)
    }
    return out
  }
}
