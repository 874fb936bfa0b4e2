/**
 * The web app's build: `npm run build:web` writes dist/web, which the server serves at /.
 * `npx vite --config web/vite.config.ts` runs it in development against a server on :3000.
 */
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const here = new URL('.', import.meta.url).pathname
const server = process.env.ZONA_URL ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root: here,
  plugins: [react()],
  build: {
    outDir: `${here}../dist/web`,
    emptyOutDir: true,
    // Modern browsers only; no inline polyfill, which the server's CSP would refuse anyway.
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: { proxy: { '/api': server, '/dev': server } },
})
