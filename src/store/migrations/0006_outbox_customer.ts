import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * The outbox learns which customer a message concerns (null for mail before there is one,
 * such as an account request), so support can find a customer's mail and a customer's
 * removal can find it too. `template` keeps naming the kind ('invitation', 'password-reset').
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'alter table outbox add column customer_id text references customers (id)',
    `create index outbox_customer_idx on outbox (customer_id, created_at) where customer_id is not null`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['drop index outbox_customer_idx', 'alter table outbox drop column customer_id'])
}
