import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * Service contacts (ovh) are grants of the catalog's contact roles (admin-contact, tech-contact,
 * billing-contact, limited to one per service), so the engine decides who may name whom. The
 * separate service_contacts table said the same thing a second time: it goes, with its access
 * triggers. A contact change that could not apply records why (refusal_reason).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    ...['inserted', 'updated', 'deleted'].map(
      (op) => `drop trigger service_contacts_access_${op} on service_contacts`,
    ),
    'drop table service_contacts',
    'alter table contact_changes add column refusal_reason text',
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const run = "for each statement execute function zona_access_changed('contact', 'with_person')"
  await runStatements(db, [
    'alter table contact_changes drop column refusal_reason',
    `create table service_contacts (
      customer_id text not null,
      node_id text not null,
      kind text not null check (kind in ('admin', 'technical', 'billing')),
      person_id text not null references people (id),
      since timestamptz not null default now(),
      primary key (node_id, kind),
      constraint service_contacts_node_fk foreign key (node_id, customer_id) references nodes (id, customer_id)
    )`,
    'create index service_contacts_person_idx on service_contacts (person_id)',
    `create trigger service_contacts_access_inserted after insert on service_contacts referencing new table as new_rows ${run}`,
    `create trigger service_contacts_access_updated after update on service_contacts
      referencing old table as old_rows new table as new_rows ${run}`,
    `create trigger service_contacts_access_deleted after delete on service_contacts referencing old table as old_rows ${run}`,
  ])
}
