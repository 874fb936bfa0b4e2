/**
 * The application in front of Cerbos, in its own process: Cerbos holds no data, so before each
 * decision the caller fetches the person's grants and the node's ancestors (here from memory –
 * the cheapest fetch there is; a database read would cost more) and passes them along, through
 * the official client (@cerbos/http). Lists: PlanResources gives a condition on the node's path
 * (`"A5" in path || …`), which the application runs against its tree index.
 *
 * POST /check {person, permission, node} → {allowed}
 * POST /list {person, permission, limit?} → {nodes} (every node when limit is absent)
 * POST /revoke {person, role, node} → 204: the grant leaves the application's data.
 * Forked by run.ts with ZONA_PEERS_CERBOS = {scale, seed, cerbosUrl}; sends 'ready', answers 'rss'.
 */
import { HTTP } from '@cerbos/http'
import Fastify from 'fastify'
import { generateCustomer, nodeId, personId } from '../generate.ts'
import { AppTree } from './systems/app-tree.ts'
import type { CerbosGrant } from './systems/cerbos.ts'
import type { Scale } from './workload.ts'

interface Args {
  scale: Scale
  seed: number
  cerbosUrl: string
}

const PATH = 'request.resource.attr.path'

/** The plan's condition tree, as @cerbos/core returns it (PlanExpression / …Value / …Variable). */
type PlanOperand = { operator: string; operands: PlanOperand[] } | { value: unknown } | { name: string }
type Principal = Parameters<HTTP['isAllowed']>[0]['principal']

/** The grant nodes of `"x" in path || "y" in path …`; anything else is a translation bug. */
export function planNodes(e: PlanOperand): string[] {
  if ('operator' in e) {
    if (e.operator === 'or') return e.operands.flatMap(planNodes)
    const [value, variable] = e.operands
    if (
      e.operator === 'in' &&
      value &&
      'value' in value &&
      variable &&
      'name' in variable &&
      variable.name === PATH
    )
      return [value.value as string]
  }
  throw new Error(`unexpected plan condition ${JSON.stringify(e)}`)
}

const send = (m: unknown) => (process.send as NonNullable<typeof process.send>)(m)

async function main(): Promise<void> {
  const args = JSON.parse(process.env.ZONA_PEERS_CERBOS ?? '{}') as Args
  const t0 = performance.now()
  const spec = generateCustomer({ ...args.scale, seed: args.seed })
  const tree = new AppTree(spec)
  const grants = new Map<string, CerbosGrant[]>()
  for (const g of spec.grants) {
    const person = personId(spec, g.person)
    let mine = grants.get(person)
    if (!mine) {
      mine = []
      grants.set(person, mine)
    }
    mine.push({ node: nodeId(spec, g.node), role: g.role, options: g.options })
  }
  const cerbos = new HTTP(args.cerbosUrl)
  const principal = (person: string): Principal => ({
    id: person,
    roles: ['person'],
    attr: { grants: (grants.get(person) ?? []) as unknown as string },
  })

  const app = Fastify({ logger: false })
  app.post<{ Body: { person: string; permission: string; node: string } }>('/check', async (request) => {
    const { person, permission, node } = request.body
    const allowed = await cerbos.isAllowed({
      principal: principal(person),
      resource: { kind: 'node', id: node, attr: { path: tree.path(node) } },
      action: permission,
    })
    return { allowed }
  })
  app.post<{ Body: { person: string; permission: string; limit?: number } }>('/list', async (request) => {
    const { person, permission, limit } = request.body
    const plan = await cerbos.planResources({
      principal: principal(person),
      resource: { kind: 'node' },
      action: permission,
    })
    const root = tree.ids[0] as string
    const nodes =
      'condition' in plan
        ? tree.servicesUnder(planNodes(plan.condition as PlanOperand), limit)
        : plan.kind === 'KIND_ALWAYS_ALLOWED'
          ? tree.servicesUnder([root], limit)
          : []
    return { nodes }
  })
  app.post<{ Body: { person: string; role: string; node: string } }>('/revoke', async (request, reply) => {
    const { person, role, node } = request.body
    grants.set(
      person,
      (grants.get(person) ?? []).filter((g) => !(g.role === role && g.node === node)),
    )
    return reply.status(204).send()
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  process.on('message', (m: { type: string }) => {
    if (m.type === 'rss') send({ type: 'rss', rss: process.memoryUsage().rss })
    else if (m.type === 'stop') void app.close().finally(() => process.exit(0))
  })
  send({ type: 'ready', url, loadMs: Math.round(performance.now() - t0) })
}

main().catch((e: Error) => {
  send({ type: 'error', message: e.stack ?? String(e) })
  process.exit(1)
})
