import type { Kysely } from 'kysely'
import { runStatements } from './run-sql.ts'

/** Customers, their account/service tree, and the billing and usage documents hung on it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table customers (
      id text primary key,
      name text not null,
      preset text not null,
      created_at timestamptz not null default now()
    )`,
    // The customer is its own root node, so grants and audit point at nodes only.
    // (parent_id, customer_id) references (id, customer_id): a tree never crosses customers.
    `create table nodes (
      id text primary key,
      customer_id text not null references customers (id),
      parent_id text,
      kind text not null check (kind in ('customer', 'account', 'service')),
      name text not null,
      service_type text,
      status text check (status in ('active', 'blocked', 'cancelled')),
      tariff text,
      add_ons text[] not null default '{}',
      contract_number text,
      contact_email text,
      attributes jsonb not null default '{}',
      created_at timestamptz not null default now(),
      constraint nodes_id_customer_unique unique (id, customer_id),
      constraint nodes_parent_fk foreign key (parent_id, customer_id) references nodes (id, customer_id),
      constraint nodes_root_is_customer check ((kind = 'customer') = (parent_id is null)),
      constraint nodes_customer_id_matches check (kind <> 'customer' or id = customer_id),
      constraint nodes_status_on_services check ((kind = 'service') = (status is not null)),
      constraint nodes_service_type_on_services check (kind = 'service' or service_type is null)
    )`,
    'create index nodes_customer_idx on nodes (customer_id)',
    'create index nodes_parent_idx on nodes (parent_id)',
    'create index nodes_contract_number_idx on nodes (contract_number) where contract_number is not null',
    `create table invoices (
      id text primary key,
      customer_id text not null,
      node_id text not null,
      number text not null,
      issued_on date not null,
      due_on date not null,
      amount_cents bigint not null,
      currency text not null check (currency ~ '^[A-Z]{3}$'),
      paid_at timestamptz,
      payment_reference text,
      created_at timestamptz not null default now(),
      constraint invoices_node_fk foreign key (node_id, customer_id) references nodes (id, customer_id),
      constraint invoices_number_unique unique (customer_id, number)
    )`,
    'create index invoices_node_idx on invoices (node_id, issued_on)',
    `create table statements (
      id text primary key,
      customer_id text not null,
      node_id text not null,
      period text not null check (period ~ '^[0-9]{4}-[0-9]{2}$'),
      lines jsonb not null default '[]',
      created_at timestamptz not null default now(),
      constraint statements_node_fk foreign key (node_id, customer_id) references nodes (id, customer_id),
      constraint statements_period_unique unique (node_id, period)
    )`,
    // One value per node, day, metric and IP; a null IP (the whole node) counts as one value too.
    `create table usage_stats (
      node_id text not null references nodes (id),
      day date not null,
      metric text not null,
      ip text,
      value bigint not null,
      constraint usage_stats_unique unique nulls not distinct (node_id, day, metric, ip)
    )`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'drop table usage_stats',
    'drop table statements',
    'drop table invoices',
    'drop table nodes',
    'drop table customers',
  ])
}
