/** The shape every in-process system takes in the peer benchmark. */
import type { Catalog } from '../../../src/domain/catalog.ts'
import type { CustomerSpec } from '../../generate.ts'
import type { RevokeTarget } from '../workload.ts'

export type MaybePromise<T> = T | Promise<T>

export interface InProcessSystem {
  readonly id: string
  readonly label: string
  /** Package versions, for the results. */
  readonly versions: Record<string, string>
  /** Build everything from the generated customer (timed as the load time). */
  load(spec: CustomerSpec, catalog: Catalog): Promise<void>
  check(person: string, permission: string, node: string): MaybePromise<boolean>
  /** The first page of services on which the person has the permission (at most `limit`). */
  listPage(person: string, permission: string, limit: number): MaybePromise<string[]>
  /** Every such service (order free), for the comparison with Zona. */
  listAll(person: string, permission: string): MaybePromise<string[]>
  revoke(target: RevokeTarget): MaybePromise<void>
  /** Put the revoked grant back (for a second revoke probe). */
  restore?(target: RevokeTarget): MaybePromise<void>
  /** A check that may answer from a cache (SpiceDB minimize_latency), for the staleness probe. */
  checkCached?(person: string, permission: string, node: string): MaybePromise<boolean>
  close?(): MaybePromise<void>
}
