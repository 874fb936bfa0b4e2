/**
 * `zona demo`: for now a minimal HTTP server answering /healthz with the loaded presets; the
 * server issue replaces it with the full portal on an embedded database.
 */
import { createServer } from 'node:http'
import { loadPreset, presetIds } from '../catalog/load.ts'
import type { Output } from './access-test.ts'

export function runDemo(io: Output): Promise<number> {
  const presets = presetIds().map((id) => loadPreset(id))
  const port = Number(process.env.PORT ?? 3000)
  const host = process.env.HOST ?? '127.0.0.1'
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: 'ok', presets: presets.map((p) => p.id) }))
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found\n')
  })
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      io.out(
        `zona demo listening on http://${host}:${port}/healthz (presets: ${presets.map((p) => p.id).join(', ')})`,
      )
      io.out('The portal and its demo logins arrive with the server issue; press Ctrl+C to stop.')
    })
    const stop = () => server.close(() => resolve(0))
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
