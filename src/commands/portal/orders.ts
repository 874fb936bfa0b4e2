/**
 * Placing an order in the portal (W7): cancel, tariff change, add-ons, block for theft, premium
 * black list, exclusive offers, smart watch, settings, or a new service on an account. An order is
 * a request for the operator's systems, recorded in `orders` with its audit event ('order.placed');
 * nothing in the tree changes until the operator's systems carry it out.
 */
import { z } from 'zod'
import { ZonaError } from '../../errors.ts'
import { requireAllowed, seeNode } from '../../queries/visibility.ts'
import { withTransaction } from '../../store/common.ts'
import type { JsonObject, NodeRow, Order } from '../../store/schema.ts'
import { findNode } from '../../store/tree.ts'
import { insertOrder } from '../../store/workflows.ts'
import { type Actor, audit, type Zona } from '../context.ts'

const name = z.string().trim().min(1).max(100)

interface OrderKind {
  permission: string
  payload: z.ZodType<Record<string, unknown>>
  /** A reason the service's current state makes the order pointless, or nothing. */
  conflict?: (
    service: NodeRow,
    payload: Record<string, unknown>,
  ) => { field?: string; detail: string } | undefined
}

/** Each order kind on a service, the permission it needs, and the payload it takes. */
export const SERVICE_ORDER_KINDS = {
  cancel: {
    permission: 'service.cancel',
    payload: z.strictObject({
      reason: z.string().max(500).optional(),
      on: z.iso.date().optional(),
    }),
  },
  'tariff-change': {
    permission: 'service.tariff.change',
    payload: z.strictObject({ tariff: name }),
    conflict: (s, p) =>
      s.tariff === p.tariff
        ? { field: 'body.payload.tariff', detail: `the tariff already is ${s.tariff}` }
        : undefined,
  },
  'addon-activate': {
    permission: 'service.addons.manage',
    payload: z.strictObject({ addon: name }),
    conflict: (s, p) =>
      s.addOns.includes(p.addon as string)
        ? { field: 'body.payload.addon', detail: `${p.addon} is already active` }
        : undefined,
  },
  'addon-cancel': {
    permission: 'service.addons.manage',
    payload: z.strictObject({ addon: name }),
    conflict: (s, p) =>
      s.addOns.includes(p.addon as string)
        ? undefined
        : { field: 'body.payload.addon', detail: `${p.addon} is not an active add-on of this service` },
  },
  block: {
    permission: 'service.block',
    payload: z.strictObject({ reason: z.enum(['theft', 'loss', 'other']).default('theft') }),
    conflict: (s) => (s.status === 'blocked' ? { detail: 'the service is already blocked' } : undefined),
  },
  unblock: {
    permission: 'service.block',
    payload: z.strictObject({}),
    conflict: (s) => (s.status !== 'blocked' ? { detail: 'the service is not blocked' } : undefined),
  },
  'premium-blacklist': {
    permission: 'service.premium.manage',
    payload: z
      .strictObject({
        block: z.array(name).max(50).default([]),
        allow: z.array(name).max(50).default([]),
      })
      .refine((p) => p.block.length + p.allow.length > 0, {
        message: 'name at least one premium service to block or allow',
        path: ['block'],
      }),
  },
  'offer-activate': { permission: 'service.offers.activate', payload: z.strictObject({ offer: name }) },
  'watch-activate': {
    permission: 'service.watch.activate',
    payload: z.strictObject({
      imei: z
        .string()
        .regex(/^\d{15}$/, '15 digits')
        .optional(),
    }),
  },
  'settings-change': {
    permission: 'service.settings.change',
    payload: z.strictObject({
      settings: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/),
          z.union([z.string().max(500), z.number(), z.boolean()]),
        )
        .refine((s) => Object.keys(s).length > 0 && Object.keys(s).length <= 50, {
          message: 'between 1 and 50 settings',
        }),
    }),
  },
} satisfies Record<string, OrderKind>

export type ServiceOrderKind = keyof typeof SERVICE_ORDER_KINDS

/** Orders on an account (or the customer itself): a new service under it. */
export const ACCOUNT_ORDER_KINDS = {
  'new-service': {
    permission: 'service.order',
    payload: z.strictObject({
      service_type: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes'),
      tariff: name.optional(),
      note: z.string().max(1000).optional(),
    }),
  },
} satisfies Record<string, OrderKind>

export type AccountOrderKind = keyof typeof ACCOUNT_ORDER_KINDS

export interface PlaceOrderInput {
  /** The service, or the account for a new service. */
  node: string
  kind: string
  payload: unknown
}

/**
 * Place an order as `actor` (a person). The node must be visible to them (404 otherwise, the same
 * as a missing id), the engine must allow the kind's permission on it (403 with its explanation),
 * the payload must fit the kind (400 naming the field), and the service must be in a state the
 * order makes sense in (409).
 */
export async function placeOrder(
  zona: Zona,
  actor: Actor,
  input: PlaceOrderInput & { on: 'service' | 'account' },
): Promise<Order> {
  const engine = zona.access.engine
  const person = actor.id
  const kinds: Record<string, OrderKind> = input.on === 'service' ? SERVICE_ORDER_KINDS : ACCOUNT_ORDER_KINDS
  const info = seeNode(
    engine,
    person,
    input.node,
    input.on === 'service' ? ['service'] : ['account', 'customer'],
    'params.id',
  )
  const kind = Object.hasOwn(kinds, input.kind) ? kinds[input.kind] : undefined
  if (!kind)
    throw new ZonaError('VALIDATION_FAILED', `body.kind must be one of ${Object.keys(kinds).join(', ')}`, {
      field: 'body.kind',
    })
  requireAllowed(engine, person, kind.permission, input.node)
  const parsed = kind.payload.safeParse(input.payload ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = (issue?.path ?? []).filter((p) => typeof p !== 'symbol').map(String)
    const keys = issue?.code === 'unrecognized_keys' ? issue.keys : []
    const field = ['body', 'payload', ...path, ...keys.slice(0, 1)].join('.')
    const message = keys.length ? 'is not a field of this order kind' : (issue?.message ?? 'is not valid')
    throw new ZonaError('VALIDATION_FAILED', `${field} ${message}`, { field })
  }
  // zod keeps only JSON values (strings, numbers, booleans, arrays of them).
  const payload = parsed.data as JsonObject
  return withTransaction(zona.store.db, async (trx) => {
    const node = await findNode(trx, input.node)
    if (!node) throw new ZonaError('NOT_FOUND', 'there is no node with this id', { field: 'params.id' })
    if (node.kind === 'service') {
      if (node.status === 'cancelled')
        throw new ZonaError('CONFLICT', 'the service is cancelled; it takes no more orders', {
          field: 'params.id',
        })
      const conflict = kind.conflict?.(node, payload)
      if (conflict) throw new ZonaError('CONFLICT', conflict.detail, { field: conflict.field ?? 'body.kind' })
    }
    const order = await insertOrder(trx, {
      customerId: info.customer,
      nodeId: input.node,
      personId: person,
      onBehalfOf: actor.onBehalfOf ?? null,
      kind: input.kind,
      payload,
      createdAt: zona.clock(),
    })
    await audit(trx, actor, {
      action: 'order.placed',
      customerId: info.customer,
      nodeId: input.node,
      subject: order.id,
      after: order,
    })
    return order
  })
}
