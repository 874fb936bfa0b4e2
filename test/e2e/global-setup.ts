/** Builds the web app into dist/web before the browser suite, so it always tests the current sources. */
import { spawnSync } from 'node:child_process'

export default function setup() {
  const root = new URL('../..', import.meta.url).pathname
  // A separate process: vitest's NODE_ENV=test would give React's development build.
  const r = spawnSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  if (r.status !== 0) throw new Error('the web app did not build: npm run build:web shows why')
}
