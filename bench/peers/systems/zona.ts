/** Zona's own engine, as the server holds it: the reference every peer is compared with. */
import type { Catalog } from '../../../src/domain/catalog.ts'
import { AccessEngine } from '../../../src/domain/engine.ts'
import { buildTree, type CustomerSpec, loadGrants } from '../../generate.ts'
import type { RevokeTarget } from '../workload.ts'
import type { InProcessSystem } from './types.ts'

export class ZonaSystem implements InProcessSystem {
  readonly id = 'zona'
  readonly label = 'Zona engine'
  readonly versions = {}
  private engine!: AccessEngine

  async load(spec: CustomerSpec, catalog: Catalog): Promise<void> {
    const tree = buildTree(spec)
    tree.ensureIndexed()
    this.engine = new AccessEngine(catalog, tree)
    loadGrants(spec, this.engine)
  }

  check(person: string, permission: string, node: string): boolean {
    return this.engine.check(person, permission, node)
  }

  listPage(person: string, permission: string, limit: number): string[] {
    return this.engine.list(person, permission, 'service', { limit }).nodes
  }

  listAll(person: string, permission: string): string[] {
    return [...this.engine.listAll(person, permission, 'service')]
  }

  revoke(t: RevokeTarget): void {
    this.engine.removeGrant(t.grantId)
  }

  restore(t: RevokeTarget): void {
    this.engine.addGrant({ id: t.grantId, person: t.person, role: t.role, scope: t.node, options: t.options })
  }
}
