/**
 * The customer tree: customers at the roots, accounts nested to any depth, services as leaves.
 *
 * Nodes get dense integer indexes so the engine works on typed arrays, not objects. A pre-order
 * numbering (`pre`, `end`) turns "is X under G?" into two integer comparisons; it is rebuilt
 * lazily after the tree changes (imports), which is rare next to grant changes and checks.
 */

export type NodeKind = 'customer' | 'account' | 'service'

export const NODE_KINDS: readonly NodeKind[] = ['customer', 'account', 'service']

const KIND_CODE: Record<NodeKind, number> = { customer: 0, account: 1, service: 2 }

export interface NodeInfo {
  id: string
  kind: NodeKind
  parent: string | null
  customer: string
  serviceType?: string
}

export class TreeError extends Error {
  constructor(
    readonly code: 'DUPLICATE_NODE' | 'UNKNOWN_PARENT' | 'INVALID_PARENT',
    message: string,
  ) {
    super(message)
  }
}

function grow(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a
  const b = new Int32Array(Math.max(need, a.length * 2))
  b.set(a)
  return b
}

export class CustomerTree {
  private readonly ids: string[] = []
  private readonly index = new Map<string, number>()
  private parentOf = new Int32Array(1024)
  private kindOf = new Uint8Array(1024)
  private depthOf = new Int32Array(1024)
  private rootOf = new Int32Array(1024)
  private firstChild = new Int32Array(1024)
  private lastChild = new Int32Array(1024)
  private nextSibling = new Int32Array(1024)
  private readonly serviceTypes = new Map<number, string>()
  private readonly roots: number[] = []

  // Pre-order numbering, valid while `indexed` is true.
  private indexed = false
  private preOf = new Int32Array(0)
  private endOf = new Int32Array(0)
  private atPre = new Int32Array(0)
  private kindPres: Int32Array[] = [new Int32Array(0), new Int32Array(0), new Int32Array(0)]

  /** Bumped on every change, so caches keyed on the tree can tell they are stale. */
  version = 0

  get size(): number {
    return this.ids.length
  }

  addCustomer(id: string): number {
    return this.add(id, 'customer', -1)
  }

  addAccount(id: string, parent: string): number {
    const p = this.requireParent(id, parent)
    if (this.kindOf[p] === KIND_CODE.service)
      throw new TreeError('INVALID_PARENT', `account ${id} cannot sit under service ${parent}`)
    return this.add(id, 'account', p)
  }

  addService(id: string, parent: string, serviceType?: string): number {
    const p = this.requireParent(id, parent)
    if (this.kindOf[p] === KIND_CODE.service)
      throw new TreeError('INVALID_PARENT', `service ${id} cannot sit under service ${parent}`)
    const n = this.add(id, 'service', p)
    if (serviceType) this.serviceTypes.set(n, serviceType)
    return n
  }

  has(id: string): boolean {
    return this.index.has(id)
  }

  /** Index of a node id, or -1. */
  indexOf(id: string): number {
    return this.index.get(id) ?? -1
  }

  idAt(n: number): string {
    return this.ids[n] as string
  }

  kindAt(n: number): NodeKind {
    return NODE_KINDS[this.kindOf[n] as number] as NodeKind
  }

  kindCodeAt(n: number): number {
    return this.kindOf[n] as number
  }

  /** The service type of a service node, if recorded. */
  serviceTypeAt(n: number): string | undefined {
    return this.serviceTypes.get(n)
  }

  parentAt(n: number): number {
    return this.parentOf[n] as number
  }

  depthAt(n: number): number {
    return this.depthOf[n] as number
  }

  customerAt(n: number): number {
    return this.rootOf[n] as number
  }

  info(id: string): NodeInfo | undefined {
    const n = this.index.get(id)
    if (n === undefined) return undefined
    const parent = this.parentOf[n] as number
    const info: NodeInfo = {
      id,
      kind: this.kindAt(n),
      parent: parent < 0 ? null : this.idAt(parent),
      customer: this.idAt(this.rootOf[n] as number),
    }
    const type = this.serviceTypes.get(n)
    if (type !== undefined) info.serviceType = type
    return info
  }

  /** The node and its ancestors, nearest first. */
  *ancestorsOrSelf(n: number): Generator<number> {
    for (let x = n; x >= 0; x = this.parentOf[x] as number) yield x
  }

  /** True when `x` is `ancestor` or lies in its subtree. */
  isWithin(x: number, ancestor: number): boolean {
    this.ensureIndexed()
    const p = this.preOf[x] as number
    return (this.preOf[ancestor] as number) <= p && p < (this.endOf[ancestor] as number)
  }

  /** Pre-order number and exclusive subtree end; callers must have called ensureIndexed(). */
  pre(n: number): number {
    return this.preOf[n] as number
  }

  end(n: number): number {
    return this.endOf[n] as number
  }

  nodeAtPre(p: number): number {
    return this.atPre[p] as number
  }

  /** Pre-order numbers of all nodes of a kind, ascending. */
  presOfKind(kind: NodeKind): Int32Array {
    this.ensureIndexed()
    return this.kindPres[KIND_CODE[kind]] as Int32Array
  }

  children(n: number): number[] {
    const out: number[] = []
    for (let c = this.firstChild[n] as number; c >= 0; c = this.nextSibling[c] as number) out.push(c)
    return out
  }

  customers(): string[] {
    return this.roots.map((r) => this.idAt(r))
  }

  ensureIndexed(): void {
    if (this.indexed) return
    const n = this.ids.length
    this.preOf = new Int32Array(n)
    this.endOf = new Int32Array(n)
    this.atPre = new Int32Array(n)
    const counts = [0, 0, 0]
    for (let i = 0; i < n; i++) (counts[this.kindOf[i] as number] as number)++
    const kindPres = counts.map((c) => new Int32Array(c))
    const fill = [0, 0, 0]
    // Iterative DFS: trees can be deep enough to overflow recursion in imports of odd data.
    const stack = new Int32Array(n + 1)
    let counter = 0
    for (const root of this.roots) {
      let top = 0
      stack[top++] = root
      while (top > 0) {
        const x = stack[top - 1] as number
        if (x >= 0) {
          stack[top - 1] = ~x // revisit marker: close the subtree after the children
          this.preOf[x] = counter
          this.atPre[counter] = x
          const k = this.kindOf[x] as number
          ;(kindPres[k] as Int32Array)[fill[k] as number] = counter
          fill[k] = (fill[k] as number) + 1
          counter++
          // Push children in reverse so the first child is numbered first (insertion order).
          const kids = this.children(x)
          for (let i = kids.length - 1; i >= 0; i--) stack[top++] = kids[i] as number
        } else {
          this.endOf[~x] = counter
          top--
        }
      }
    }
    this.kindPres = kindPres
    this.indexed = true
  }

  private requireParent(id: string, parent: string): number {
    const p = this.index.get(parent)
    if (p === undefined) throw new TreeError('UNKNOWN_PARENT', `parent ${parent} of ${id} does not exist`)
    return p
  }

  private add(id: string, kind: NodeKind, parent: number): number {
    if (this.index.has(id)) throw new TreeError('DUPLICATE_NODE', `node ${id} already exists`)
    const n = this.ids.length
    const need = n + 1
    if (need > this.parentOf.length) {
      this.parentOf = grow(this.parentOf, need)
      this.depthOf = grow(this.depthOf, need)
      this.rootOf = grow(this.rootOf, need)
      this.firstChild = grow(this.firstChild, need)
      this.lastChild = grow(this.lastChild, need)
      this.nextSibling = grow(this.nextSibling, need)
      const k = new Uint8Array(this.parentOf.length)
      k.set(this.kindOf)
      this.kindOf = k
    }
    this.ids.push(id)
    this.index.set(id, n)
    this.parentOf[n] = parent
    this.kindOf[n] = KIND_CODE[kind]
    this.firstChild[n] = -1
    this.lastChild[n] = -1
    this.nextSibling[n] = -1
    if (parent < 0) {
      this.depthOf[n] = 0
      this.rootOf[n] = n
      this.roots.push(n)
    } else {
      this.depthOf[n] = (this.depthOf[parent] as number) + 1
      this.rootOf[n] = this.rootOf[parent] as number
      const last = this.lastChild[parent] as number
      if (last < 0) this.firstChild[parent] = n
      else this.nextSibling[last] = n
      this.lastChild[parent] = n
    }
    this.indexed = false
    this.version++
    return n
  }
}
