import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/** People and their credentials, sessions, API keys, grants and service contacts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table people (
      id text primary key,
      login text not null,
      email text,
      display_name text not null,
      status text not null default 'active' check (status in ('active', 'deactivated')),
      locale text,
      created_at timestamptz not null default now(),
      last_login_at timestamptz,
      deactivated_at timestamptz
    )`,
    // Case-insensitive uniqueness without the citext extension (not always installable).
    'create unique index people_login_unique on people (lower(login))',
    'create unique index people_email_unique on people (lower(email)) where email is not null',
    `create table credentials (
      person_id text primary key references people (id) on delete cascade,
      password_hash text,
      totp_secret text,
      failed_attempts integer not null default 0 check (failed_attempts >= 0),
      locked_until timestamptz,
      password_changed_at timestamptz
    )`,
    `create table sessions (
      id_hash text primary key,
      person_id text not null references people (id) on delete cascade,
      on_behalf_of text,
      csrf_secret text,
      ip text,
      user_agent text,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`,
    'create index sessions_person_idx on sessions (person_id)',
    'create index sessions_expires_idx on sessions (expires_at)',
    `create table api_keys (
      id text primary key default gen_random_uuid()::text,
      key_hash text not null unique,
      name text not null,
      scope text not null check (scope in ('operator', 'decision')),
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`,
    // granted_by has no foreign key on purpose: grants outlive their grantor (delegation rule 5).
    `create table grants (
      id text primary key default gen_random_uuid()::text,
      customer_id text not null references customers (id),
      person_id text not null references people (id),
      role text not null,
      scope_node_id text not null,
      options text[] not null default '{}',
      limited boolean not null default false,
      granted_by text,
      granted_at timestamptz not null default now(),
      expires_at timestamptz,
      constraint grants_scope_fk foreign key (scope_node_id, customer_id) references nodes (id, customer_id),
      constraint grants_person_role_scope_unique unique (person_id, role, scope_node_id)
    )`,
    // Invariant I3 in the database itself: at most one holder of a limited role per customer,
    // whatever the code above does. Replacing the holder is one transaction (delete + insert).
    'create unique index grants_one_limited_holder on grants (customer_id, role) where limited',
    'create index grants_customer_idx on grants (customer_id)',
    'create index grants_scope_idx on grants (scope_node_id)',
    'create index grants_expires_idx on grants (expires_at) where expires_at is not null',
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
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'drop table service_contacts',
    'drop table grants',
    'drop table api_keys',
    'drop table sessions',
    'drop table credentials',
    'drop table people',
  ])
}
