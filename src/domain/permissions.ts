/**
 * The shared permission vocabulary (DOMAIN.md section 4). A catalog declares the subset it
 * uses and may add its own; these are the names access test files and the API speak.
 */
export const VOCABULARY = [
  'node.view',
  'service.order',
  'service.cancel',
  'service.tariff.change',
  'service.addons.manage',
  'service.settings.change',
  'service.block',
  'service.premium.manage',
  'service.offers.activate',
  'service.watch.activate',
  'technical.manage',
  'billing.invoices.view',
  'billing.payments.view',
  'billing.statements.view',
  'usage.stats.view',
  'users.manage',
  'contacts.manage',
  'owner.edit',
] as const

export type VocabularyPermission = (typeof VOCABULARY)[number]

/** Permission masks are 32-bit integers; one bit a permission keeps `check` to a few integer ops. */
export const MAX_PERMISSIONS = 32

export const PERMISSION_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/
