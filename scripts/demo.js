#!/usr/bin/env node
// `npm run demo`: builds the web app when dist/web is missing (a fresh clone), then runs
// `zona demo`, which serves it at / next to the API.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname
if (!existsSync(`${root}dist/web/index.html`)) {
  process.stdout.write('Building the web app (dist/web) once: npm run build:web\n')
  const build = spawnSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (build.status !== 0) process.exit(build.status ?? 1)
}
// Ctrl+C reaches the demo too (same process group); wait for it to close its database cleanly.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {})
const demo = spawnSync('node', ['bin/zona.js', 'demo', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(demo.status ?? 0)
