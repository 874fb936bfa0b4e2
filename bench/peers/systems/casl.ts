/**
 * CASL (@casl/ability), one ability per person: each grant is one rule
 * `can([permissions of the role with its options], 'Node', { path: grantNode })`, where `path` is
 * the node with its ancestors – so the rule matches the grant's node and its whole subtree. The
 * application hands CASL the node with its path (walked up its own parent map on each check).
 *
 * Options: the rule's actions are catalog.maskOf(role, options) – the options' permissions are
 * in it or not. Lists: rulesToAST (CASL's query builder) gives `path = x OR path = y …`, which the
 * application runs against its tree index, as it would turn it into a database query.
 */
import { AbilityBuilder, createMongoAbility, type MongoAbility, subject } from '@casl/ability'
import { rulesToAST } from '@casl/ability/extra'
import type { Catalog } from '../../../src/domain/catalog.ts'
import { type CustomerSpec, type GrantSpec, nodeId, personId } from '../../generate.ts'
import type { RevokeTarget } from '../workload.ts'
import { AppTree } from './app-tree.ts'
import type { InProcessSystem } from './types.ts'

interface Grant {
  role: string
  node: string
  options: string[]
}

export class CaslSystem implements InProcessSystem {
  readonly id = 'casl'
  readonly label = 'CASL (@casl/ability)'
  readonly versions: Record<string, string>
  private readonly abilities = new Map<string, MongoAbility>()
  private readonly grants = new Map<string, Grant[]>()
  private catalog!: Catalog
  private tree!: AppTree

  constructor(version: string) {
    this.versions = { '@casl/ability': version }
  }

  async load(spec: CustomerSpec, catalog: Catalog): Promise<void> {
    this.catalog = catalog
    this.tree = new AppTree(spec)
    spec.grants.forEach((g: GrantSpec) => {
      const person = personId(spec, g.person)
      let mine = this.grants.get(person)
      if (!mine) {
        mine = []
        this.grants.set(person, mine)
      }
      mine.push({ role: g.role, node: nodeId(spec, g.node), options: g.options })
    })
    for (const [person, mine] of this.grants) this.abilities.set(person, this.build(mine))
  }

  private build(grants: readonly Grant[]): MongoAbility {
    const { can, build } = new AbilityBuilder(createMongoAbility)
    for (const g of grants) {
      const role = this.catalog.role(g.role)
      if (!role) throw new Error(`unknown role ${g.role}`)
      can(this.catalog.permissionsOf(this.catalog.maskOf(role, g.options)), 'Node', { path: g.node })
    }
    return build()
  }

  check(person: string, permission: string, node: string): boolean {
    const ability = this.abilities.get(person)
    if (!ability || !this.tree.has(node)) return false
    return ability.can(permission, subject('Node', { id: node, path: this.tree.path(node) }))
  }

  /** The grant nodes of `path = x OR …`; throws on anything else (that would be a translation bug). */
  private grantNodes(person: string, permission: string): string[] {
    const ability = this.abilities.get(person)
    if (!ability) return []
    const ast = rulesToAST(ability, permission, 'Node')
    if (ast === null) return []
    const terms = ast.operator === 'or' ? (ast.value as (typeof ast)[]) : [ast]
    return terms.map((t) => {
      const f = t as unknown as { operator: string; field?: string; value: unknown }
      if (f.operator !== 'eq' || f.field !== 'path')
        throw new Error(`unexpected CASL condition ${JSON.stringify(t)}`)
      return f.value as string
    })
  }

  listPage(person: string, permission: string, limit: number): string[] {
    return this.tree.servicesUnder(this.grantNodes(person, permission), limit)
  }

  listAll(person: string, permission: string): string[] {
    return this.tree.servicesUnder(this.grantNodes(person, permission))
  }

  /** As an application would: rebuild the person's rules from the grants they still hold. */
  revoke(t: RevokeTarget): void {
    const mine = (this.grants.get(t.person) ?? []).filter((g) => !(g.role === t.role && g.node === t.node))
    this.grants.set(t.person, mine)
    this.abilities.get(t.person)?.update(this.build(mine).rules)
  }

  restore(t: RevokeTarget): void {
    const mine = [...(this.grants.get(t.person) ?? []), { role: t.role, node: t.node, options: t.options }]
    this.grants.set(t.person, mine)
    this.abilities.get(t.person)?.update(this.build(mine).rules)
  }
}
