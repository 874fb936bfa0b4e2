import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * The audit log, append-only in the database itself (invariant I5): UPDATE, DELETE and
 * TRUNCATE raise, so neither the product nor a bug in it can rewrite history. Only a
 * superuser dropping the trigger could, and that is outside the product.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table audit_events (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      actor text not null,
      on_behalf_of text,
      action text not null check (action ~ '^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)+$'),
      customer_id text,
      node_id text,
      subject text,
      before jsonb,
      after jsonb,
      ip text
    )`,
    'create index audit_events_customer_idx on audit_events (customer_id, id)',
    'create index audit_events_at_idx on audit_events (at)',
    `create function zona_audit_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege',
              hint = 'Audit events are never updated or deleted; record a new event instead.';
    end
    $$`,
    `create trigger audit_events_no_update_or_delete
      before update or delete on audit_events
      for each row execute function zona_audit_append_only()`,
    `create trigger audit_events_no_truncate
      before truncate on audit_events
      for each statement execute function zona_audit_append_only()`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['drop table audit_events', 'drop function zona_audit_append_only()'])
}
