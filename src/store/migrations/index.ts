import type { Migration } from 'kysely'
import * as customersAndTree from './0001_customers_and_tree.ts'
import * as peopleAndGrants from './0002_people_and_grants.ts'
import * as workflows from './0003_workflows.ts'
import * as audit from './0004_audit.ts'
import * as accessVersion from './0005_access_version.ts'
import * as outboxCustomer from './0006_outbox_customer.ts'
import * as secondFactor from './0007_second_factor.ts'
import * as contactsAreGrants from './0008_contacts_are_grants.ts'

/**
 * Every migration, by name, in order. Listed here rather than found on disk so that the
 * package runs from any directory and bundler. Never rename or edit a released one:
 * add the next number.
 */
export const migrations: Record<string, Migration> = {
  '0001_customers_and_tree': customersAndTree,
  '0002_people_and_grants': peopleAndGrants,
  '0003_workflows': workflows,
  '0004_audit': audit,
  '0005_access_version': accessVersion,
  '0006_outbox_customer': outboxCustomer,
  '0007_second_factor': secondFactor,
  '0008_contacts_are_grants': contactsAreGrants,
}
