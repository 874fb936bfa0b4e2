/**
 * Service contacts (OVH) change hands only through a contact change that both parties confirm
 * with their own one-time codes (W5). The grant and invitation routes must not be a side door.
 */
import type { Catalog } from '../domain/catalog.ts'
import { ZonaError } from '../errors.ts'

/** A role the contact-change workflow owns: one holder per service, in a catalog with that feature. */
export function isContactRole(catalog: Catalog, roleId: string): boolean {
  return catalog.features.contactChanges && catalog.role(roleId)?.limitPerScope === 1
}

export function refuseContactRole(catalog: Catalog, roleId: string, field: string): void {
  if (!isContactRole(catalog, roleId)) return
  throw new ZonaError(
    'FORBIDDEN',
    `${roleId} changes hands only through a contact change confirmed by both parties (POST /api/v1/services/{id}/contact-changes)`,
    { field, reason: 'CONTACT_CHANGE_REQUIRED' },
  )
}
