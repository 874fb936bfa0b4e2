/**
 * Writes the demo customer of the running preset: accounts, a few hundred services with tariffs
 * and add-ons, six months of invoices, detailed statements, usage statistics, and people in every
 * role. Deterministic (seeded), idempotent (does nothing when the customer exists).
 */
import { createPerson } from '../commands/auth/people.ts'
import { audit, type Zona } from '../commands/context.ts'
import { withTransaction } from '../store/common.ts'
import { insertGrant } from '../store/grants.ts'
import {
  findCustomer,
  type InvoiceInput,
  insertCustomer,
  insertInvoices,
  insertNodes,
  insertStatements,
  type NodeInput,
  type StatementInput,
  type UsageStatInput,
  upsertUsageStats,
} from '../store/tree.ts'
import { DEMO, DEMO_PASSWORD, type DemoAccount } from './presets.ts'

export interface DemoLogin {
  login: string
  name: string
  role: string
  roleName: string
  scope: string
}

function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')
const day = (d: Date) => d.toISOString().slice(0, 10)

export async function seedDemo(zona: Zona): Promise<DemoLogin[]> {
  const demo = DEMO[zona.catalog.id]
  if (!demo) throw new Error(`no demo data for preset ${zona.catalog.id}`)
  const random = prng(20261121)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const today = zona.clock()

  const existing = await findCustomer(zona.store.db, demo.id)
  if (!existing) {
    const nodes: NodeInput[] = []
    const firstService = new Map<string, string>()
    let serial = 0
    const walk = (accounts: DemoAccount[], parent: string) => {
      for (const a of accounts) {
        nodes.push({ id: a.id, customerId: demo.id, parentId: parent, kind: 'account', name: a.name })
        for (const s of a.services) {
          for (let i = 0; i < s.count; i++) {
            serial++
            const id = `${a.id}-${s.type}-${pad(i + 1, 3)}`
            if (!firstService.has(a.id)) firstService.set(a.id, id)
            const name =
              s.type === 'mobile' || s.type === 'voip' || s.type === 'fixed'
                ? `${demo.phonePrefix}${pad(Math.floor(random() * 1e7), 7)}`.replace(
                    /(\d{3})(\d{3})(\d+)$/,
                    '$1 $2 $3',
                  )
                : s.type === 'domain'
                  ? `projekt-${serial}.${pick(['cz', 'eu', 'com'])}`
                  : `${s.type}-${pad(serial, 4)}`
            nodes.push({
              id,
              customerId: demo.id,
              parentId: a.id,
              kind: 'service',
              name,
              serviceType: s.type,
              status: random() < 0.04 ? 'blocked' : 'active',
              tariff: pick(demo.tariffs[s.type] ?? ['Standard']),
              addOns: (demo.addOns[s.type] ?? []).filter(() => random() < 0.3),
              contractNumber: `${demo.id.slice(0, 3).toUpperCase()}-${pad(100000 + serial, 6)}`,
            })
          }
        }
        walk(a.accounts ?? [], a.id)
      }
    }
    walk(demo.accounts, demo.id)

    const invoices: InvoiceInput[] = []
    const statements: StatementInput[] = []
    const usage: UsageStatInput[] = []
    const accounts = nodes.filter((n) => n.kind === 'account')
    const services = nodes.filter((n) => n.kind === 'service')
    for (const [i, a] of accounts.entries()) {
      const lines = services.filter((s) => s.parentId === a.id).length
      for (let m = 6; m >= 1; m--) {
        const issued = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - m + 1, 1))
        const due = new Date(issued.getTime() + 14 * 86400_000)
        const amount = Math.round(lines * (300 + random() * 500) * 100)
        invoices.push({
          id: `${a.id}-inv-${day(issued).slice(0, 7)}`,
          customerId: demo.id,
          nodeId: a.id,
          number: `${issued.getUTCFullYear()}${pad(i + 1, 2)}${pad(issued.getUTCMonth() + 1, 2)}${pad(Math.floor(random() * 1e4), 4)}`,
          issuedOn: day(issued),
          dueOn: day(due),
          amountCents: amount,
          currency: demo.currency,
          paidAt: m > 1 ? new Date(due.getTime() - 3 * 86400_000) : null,
          paymentReference: m > 1 ? `VS${pad(Math.floor(random() * 1e8), 8)}` : null,
        })
      }
    }
    for (const s of services.slice(0, 120)) {
      for (let m = 2; m >= 1; m--) {
        const period = day(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - m, 1))).slice(0, 7)
        const lines = Array.from({ length: 12 + Math.floor(random() * 12) }, (_, k) => ({
          at: `${period}-${pad(1 + Math.floor(random() * 28), 2)}T${pad(8 + Math.floor(random() * 10), 2)}:${pad(Math.floor(random() * 60), 2)}:00Z`,
          description: s.serviceType === 'vps' || s.serviceType === 'housing' ? 'Traffic' : `Call ${k + 1}`,
          quantity: Math.ceil(random() * 30),
          unit: s.serviceType === 'vps' || s.serviceType === 'housing' ? 'GB' : 'min',
          amountCents: Math.round(random() * 900),
        }))
        statements.push({ id: `${s.id}-${period}`, customerId: demo.id, nodeId: s.id, period, lines })
      }
    }
    // Usage for the first lines, and for every housing contract (its per-IP traffic is the point).
    const withUsage = [
      ...services.slice(0, 60),
      ...services.slice(60).filter((s) => s.serviceType === 'housing'),
    ]
    for (const s of withUsage) {
      for (let d = 30; d >= 1; d--) {
        const date = day(new Date(today.getTime() - d * 86400_000))
        if (s.serviceType === 'housing') {
          for (const ip of ['192.0.2.10', '192.0.2.11', '198.51.100.7']) {
            usage.push({
              nodeId: s.id,
              day: date,
              metric: 'traffic.in.bytes',
              ip,
              value: Math.round(random() * 5e9),
            })
            usage.push({
              nodeId: s.id,
              day: date,
              metric: 'traffic.out.bytes',
              ip,
              value: Math.round(random() * 2e10),
            })
          }
        } else
          usage.push({
            nodeId: s.id,
            day: date,
            metric: s.serviceType === 'mobile' ? 'data.mb' : 'calls.minutes',
            value: Math.round(random() * 900),
          })
      }
    }

    await withTransaction(zona.store.db, async (trx) => {
      await insertCustomer(trx, { id: demo.id, name: demo.name, preset: zona.catalog.id })
      await insertNodes(trx, nodes)
      await insertInvoices(trx, invoices)
      await insertStatements(trx, statements)
      await upsertUsageStats(trx, usage)
      const contactRoles = zona.catalog.roles.filter((r) => r.limitPerScope === 1).map((r) => r.id)
      const covered = new Set<string>()
      let ownerId: string | undefined
      for (const p of demo.people) {
        const person = await createPerson(trx, zona, {
          displayName: p.name,
          email: p.email,
          login: p.login,
          password: DEMO_PASSWORD,
          actor: { id: 'operator:demo' },
        })
        const role = zona.catalog.role(p.role)
        if (!role) throw new Error(`demo: unknown role ${p.role}`)
        const scope =
          p.scope === 'customer'
            ? demo.id
            : p.scope.startsWith('service:')
              ? firstService.get(p.scope.slice(8))
              : p.scope
        if (!scope) throw new Error(`demo: no scope for ${p.login}`)
        await insertGrant(trx, {
          customerId: demo.id,
          personId: person.id,
          role: role.id,
          scopeNodeId: scope,
          options: p.options ?? [],
          limited: role.limitPerCustomer !== undefined,
          grantedBy: role.appointedByOperator ? 'operator:demo' : null,
        })
        if (contactRoles.includes(role.id)) covered.add(`${scope}|${role.id}`)
        if (role.appointedByOperator) ownerId = person.id
      }
      // OVH: every service has its three contacts; the owner is the contact of whatever it ordered.
      if (ownerId && contactRoles.length > 0) {
        const rows = services.flatMap((s) =>
          contactRoles
            .filter((r) => !covered.has(`${s.id}|${r}`))
            .map((r) => ({
              customerId: demo.id,
              personId: ownerId as string,
              role: r,
              scopeNodeId: s.id,
              grantedBy: 'operator:demo',
            })),
        )
        for (let i = 0; i < rows.length; i += 500)
          await trx
            .insertInto('grants')
            .values(rows.slice(i, i + 500))
            .execute()
      }
      await audit(
        trx,
        { id: 'operator:demo' },
        {
          action: 'demo.seeded',
          customerId: demo.id,
          after: { accounts: accounts.length, services: services.length, people: demo.people.length },
        },
      )
    })
    await zona.access.refresh()
  }

  const people = await zona.store.db
    .selectFrom('grants')
    .innerJoin('people', 'people.id', 'grants.personId')
    .select(['people.login', 'people.displayName', 'grants.role', 'grants.scopeNodeId'])
    .where('grants.customerId', '=', demo.id)
    .execute()
  const order = new Map(demo.people.map((p, i) => [p.role, i]))
  const seen = new Set<string>()
  return people
    .filter((p) => {
      const key = `${p.login}|${p.role}`
      if (seen.has(key) || !demo.people.some((d) => d.name === p.displayName && d.role === p.role))
        return false
      seen.add(key)
      return true
    })
    .sort((a, b) => (order.get(a.role) ?? 99) - (order.get(b.role) ?? 99))
    .map((p) => ({
      login: p.login,
      name: p.displayName,
      role: p.role,
      roleName: zona.catalog.role(p.role)?.name[zona.catalog.language] ?? p.role,
      scope: p.scopeNodeId,
    }))
}
