/**
 * The ceiling of the HTTP tier: a bare Fastify app whose one route parses the same JSON body as
 * POST /api/v1/check and answers a constant. No hooks, no logger, no database. Forked by run.ts;
 * sends 'ready' with its url, answers 'rss', exits on 'stop'.
 */
import Fastify from 'fastify'

const started = performance.now()
const app = Fastify({ logger: false })
app.post('/check', async () => ({ allowed: true }))
const url = await app.listen({ host: '127.0.0.1', port: 0 })
const send = (m: unknown) => (process.send as NonNullable<typeof process.send>)(m)
process.on('message', (m: { type: string }) => {
  if (m.type === 'rss') send({ type: 'rss', rss: process.memoryUsage().rss })
  else if (m.type === 'stop') void app.close().finally(() => process.exit(0))
})
send({ type: 'ready', url, loadMs: Math.round(performance.now() - started) })
