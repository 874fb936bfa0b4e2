import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/**
 * Invitations, contact changes, account requests, one-time tokens, orders and the mail
 * outbox. Each lifecycle has an explicit state column with its states spelled out.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table invitations (
      id text primary key default gen_random_uuid()::text,
      customer_id text not null references customers (id),
      invited_by text not null,
      login text,
      email text not null,
      display_name text,
      grants jsonb not null check (jsonb_typeof(grants) = 'array'),
      state text not null default 'pending' check (state in ('pending', 'accepted', 'cancelled', 'expired')),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      last_sent_at timestamptz not null default now(),
      send_count integer not null default 1,
      accepted_person_id text references people (id),
      closed_at timestamptz,
      constraint invitations_closed_when_final check ((state = 'pending') = (closed_at is null))
    )`,
    `create index invitations_customer_idx on invitations (customer_id, state)`,
    `create table contact_changes (
      id text primary key default gen_random_uuid()::text,
      customer_id text not null,
      node_id text not null,
      kind text not null check (kind in ('admin', 'technical', 'billing')),
      requested_by text not null references people (id),
      old_person_id text not null references people (id),
      new_person_id text not null references people (id),
      state text not null default 'pending' check (state in ('pending', 'applied', 'refused', 'cancelled', 'expired')),
      requester_approved_at timestamptz,
      new_contact_approved_at timestamptz,
      refused_by text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      closed_at timestamptz,
      constraint contact_changes_node_fk foreign key (node_id, customer_id) references nodes (id, customer_id),
      constraint contact_changes_closed_when_final check ((state = 'pending') = (closed_at is null))
    )`,
    // One pending change per service contact at a time.
    `create unique index contact_changes_one_pending on contact_changes (node_id, kind) where state = 'pending'`,
    `create table account_requests (
      id text primary key default gen_random_uuid()::text,
      contract_number text not null,
      email text not null,
      state text not null default 'pending'
        check (state in ('pending', 'link_sent', 'waiting_for_operator', 'completed', 'rejected', 'expired')),
      customer_id text references customers (id),
      node_id text references nodes (id),
      person_id text references people (id),
      ip text,
      created_at timestamptz not null default now(),
      decided_by text,
      closed_at timestamptz
    )`,
    `create index account_requests_state_idx on account_requests (state, created_at)`,
    `create table one_time_tokens (
      token_hash text primary key,
      purpose text not null
        check (purpose in ('invitation', 'password_reset', 'contact_change', 'account_request', 'email_change')),
      subject_id text not null,
      party text,
      person_id text references people (id),
      email text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz,
      attempts integer not null default 0 check (attempts >= 0)
    )`,
    `create index one_time_tokens_subject_idx on one_time_tokens (purpose, subject_id)`,
    `create table orders (
      id text primary key default gen_random_uuid()::text,
      customer_id text not null,
      node_id text not null,
      person_id text references people (id),
      on_behalf_of text,
      kind text not null,
      payload jsonb not null default '{}',
      status text not null default 'pending' check (status in ('pending', 'sent', 'completed', 'failed', 'cancelled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint orders_node_fk foreign key (node_id, customer_id) references nodes (id, customer_id)
    )`,
    `create index orders_customer_idx on orders (customer_id, created_at)`,
    `create table outbox (
      id bigint generated always as identity primary key,
      recipient text not null,
      subject text not null,
      text text not null,
      html text,
      template text,
      status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      sent_at timestamptz,
      last_error text
    )`,
    `create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending'`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'drop table outbox',
    'drop table orders',
    'drop table one_time_tokens',
    'drop table account_requests',
    'drop table contact_changes',
    'drop table invitations',
  ])
}
