import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * The second factor's life: a secret being set up waits in totp_pending_secret until the
 * person proves their app has it (a valid code), and only then becomes totp_secret.
 * totp_last_step is the time step of the last accepted code, so a code works only once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'alter table credentials add column totp_pending_secret text',
    'alter table credentials add column totp_last_step integer',
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'alter table credentials drop column totp_last_step',
    'alter table credentials drop column totp_pending_secret',
  ])
}
