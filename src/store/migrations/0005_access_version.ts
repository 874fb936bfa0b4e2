import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * The access version: one counter that rises, in the writing transaction, whenever
 * something a decision depends on changes (grants, the tree, service contacts, a person's
 * status), and a NOTIFY on channel 'zona_access' that PostgreSQL delivers at commit.
 * Servers cache the access model and reload what the payload names (invariant I6: the
 * very next request sees a revocation).
 *
 * Triggers do the bumping, so no write path can forget it. Taking the counter row also
 * serialises access-changing transactions, which is what keeps check-then-write
 * delegation free of races (I2); commands can take it first with `lockAccess()`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table access_version (
      id boolean primary key default true check (id),
      version bigint not null,
      changed_at timestamptz not null default now()
    )`,
    'insert into access_version (id, version) values (true, 0)',
    // Payload: {"version":n,"kind":"grant","customerIds":[…]|null,"personIds":[…]|null}.
    // null means "not known or too many": reload everything. NOTIFY payloads must stay
    // under 8000 bytes, hence the caps.
    `create function zona_bump_access_version(change_kind text, customer_ids text[], person_ids text[])
    returns bigint language plpgsql as $$
    declare
      new_version bigint;
      payload text;
    begin
      update access_version set version = version + 1, changed_at = now() returning version into new_version;
      if cardinality(customer_ids) > 50 then customer_ids := null; end if;
      if cardinality(person_ids) > 50 then person_ids := null; end if;
      payload := json_build_object('version', new_version, 'kind', change_kind,
        'customerIds', customer_ids, 'personIds', person_ids)::text;
      if octet_length(payload) > 7900 then
        payload := json_build_object('version', new_version, 'kind', change_kind,
          'customerIds', null, 'personIds', null)::text;
      end if;
      perform pg_notify('zona_access', payload);
      return new_version;
    end
    $$`,
    // Statement-level, with transition tables: importing 100 000 nodes bumps once per
    // statement, not once per row. tg_argv[0] is the change kind; tg_argv[1] says
    // whether the table has a person_id column.
    `create function zona_access_changed() returns trigger language plpgsql as $$
    declare
      customer_ids text[];
      person_ids text[];
    begin
      if tg_op = 'INSERT' then
        if not exists (select 1 from new_rows) then return null; end if;
        select array_agg(distinct customer_id) into customer_ids from new_rows;
        if tg_argv[1] = 'with_person' then
          select array_agg(distinct person_id) into person_ids from new_rows;
        end if;
      elsif tg_op = 'DELETE' then
        if not exists (select 1 from old_rows) then return null; end if;
        select array_agg(distinct customer_id) into customer_ids from old_rows;
        if tg_argv[1] = 'with_person' then
          select array_agg(distinct person_id) into person_ids from old_rows;
        end if;
      else
        if not exists (select 1 from new_rows) then return null; end if;
        select array_agg(distinct c) into customer_ids
          from (select customer_id as c from old_rows union select customer_id from new_rows) as changed;
        if tg_argv[1] = 'with_person' then
          select array_agg(distinct p) into person_ids
            from (select person_id as p from old_rows union select person_id from new_rows) as changed;
        end if;
      end if;
      perform zona_bump_access_version(tg_argv[0], customer_ids, person_ids);
      return null;
    end
    $$`,
    ...transitionTriggers('grants', 'grant', 'with_person'),
    ...transitionTriggers('nodes', 'tree', 'without_person'),
    ...transitionTriggers('service_contacts', 'contact', 'with_person'),
    // A person's status has no customer; row-level so that only a real change bumps.
    `create function zona_person_status_changed() returns trigger language plpgsql as $$
    begin
      perform zona_bump_access_version('person', null, array[new.id]);
      return null;
    end
    $$`,
    `create trigger people_status_changed after update of status on people
      for each row when (old.status is distinct from new.status)
      execute function zona_person_status_changed()`,
  ])
}

/** PostgreSQL allows transition tables only on single-event triggers: three per table. */
function transitionTriggers(table: string, kind: string, persons: string): string[] {
  const run = `for each statement execute function zona_access_changed('${kind}', '${persons}')`
  return [
    `create trigger ${table}_access_inserted after insert on ${table} referencing new table as new_rows ${run}`,
    `create trigger ${table}_access_updated after update on ${table}
      referencing old table as old_rows new table as new_rows ${run}`,
    `create trigger ${table}_access_deleted after delete on ${table} referencing old table as old_rows ${run}`,
  ]
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'drop trigger people_status_changed on people',
    'drop function zona_person_status_changed()',
    ...['grants', 'nodes', 'service_contacts'].flatMap((table) =>
      ['inserted', 'updated', 'deleted'].map((op) => `drop trigger ${table}_access_${op} on ${table}`),
    ),
    'drop function zona_access_changed()',
    'drop function zona_bump_access_version(text, text[], text[])',
    'drop table access_version',
  ])
}
