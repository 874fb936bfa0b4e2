/**
 * Cerbos PDP, from the binary inside @cerbos/cerbos-linux-x64, with a disk policy store in a
 * temporary folder, HTTP and gRPC on 127.0.0.1, the debug listener on 127.0.0.1 too (it listens
 * on every interface otherwise) and telemetry off.
 *
 * The policy: one resource policy for kind `node`, one rule per permission, allowed to the
 * principal role `person` when
 *   P.attr.grants.exists(g, g.node in R.attr.path && (g.role in [roles giving it]
 *                                                   || (g.role == R && "option" in g.options) …))
 * The caller passes the person's grants (node, role, options) as principal attributes and the
 * resource's path (the node and its ancestors) as resource attributes: Cerbos holds no data.
 * Options: a role whose option switches the permission on appears with `"option" in g.options`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Catalog } from '../../../src/domain/catalog.ts'

export function cerbosPolicy(catalog: Catalog): string {
  const rules: string[] = []
  for (const p of catalog.permissions) {
    const bit = catalog.bit(p)
    const always = catalog.roles.filter((r) => (r.mask & bit) !== 0).map((r) => JSON.stringify(r.id))
    const terms: string[] = []
    if (always.length > 0) terms.push(`g.role in [${always.join(', ')}]`)
    for (const r of catalog.roles)
      for (const [o, m] of r.options)
        if ((m & bit) !== 0 && (r.mask & bit) === 0)
          terms.push(`(g.role == ${JSON.stringify(r.id)} && ${JSON.stringify(o)} in g.options)`)
    if (terms.length === 0) continue
    const expr = `P.attr.grants.exists(g, g.node in R.attr.path && (${terms.join(' || ')}))`
    rules.push(
      [
        `    - actions: [${JSON.stringify(p)}]`,
        '      effect: EFFECT_ALLOW',
        '      roles: ["person"]',
        '      condition:',
        '        match:',
        `          expr: ${JSON.stringify(expr)}`,
      ].join('\n'),
    )
  }
  return [
    '# Generated from the o2-cz catalog by bench/peers/systems/cerbos.ts',
    'apiVersion: api.cerbos.dev/v1',
    'resourcePolicy:',
    '  version: default',
    '  resource: node',
    '  rules:',
    ...rules,
    '',
  ].join('\n')
}

export interface CerbosPdp {
  url: string
  grpc: string
  pid: number
  loadMs: number
  version: string
  stop(): Promise<void>
}

export function cerbosBinary(): string {
  const require = createRequire(import.meta.url)
  // The package has no exports map: its folder is where its package.json is.
  return join(dirname(require.resolve('@cerbos/cerbos-linux-x64/package.json')), 'cerbos-linux-x64')
}

/** Start the PDP on the given ports and wait until its health check answers SERVING. */
export async function startCerbos(
  catalog: Catalog,
  dir: string,
  ports: { http: number; grpc: number; debug: number },
): Promise<CerbosPdp> {
  const policies = join(dir, 'policies')
  mkdirSync(policies, { recursive: true })
  writeFileSync(join(policies, 'node.yaml'), cerbosPolicy(catalog))
  const config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    [
      'server:',
      `  httpListenAddr: "127.0.0.1:${ports.http}"`,
      `  grpcListenAddr: "127.0.0.1:${ports.grpc}"`,
      'storage:',
      '  driver: disk',
      '  disk:',
      `    directory: ${JSON.stringify(policies)}`,
      '    watchForChanges: false',
      'telemetry:',
      '  disabled: true',
      '',
    ].join('\n'),
  )
  const t0 = performance.now()
  const child: ChildProcess = spawn(
    cerbosBinary(),
    ['server', `--config=${config}`, `--debug-listen-addr=127.0.0.1:${ports.debug}`, '--log-level=warn'],
    { env: { ...process.env, CERBOS_NO_TELEMETRY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (d) => {
    output += d
  })
  child.stderr?.on('data', (d) => {
    output += d
  })
  const url = `http://127.0.0.1:${ports.http}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cerbos exited (${child.exitCode}): ${output}`)
    try {
      const r = await fetch(`${url}/_cerbos/health`)
      if (r.ok && ((await r.json()) as { status?: string }).status === 'SERVING') break
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 30_000) throw new Error(`cerbos did not start: ${output}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  const loadMs = Math.round(performance.now() - t0)
  const version = await new Promise<string>((resolve) => {
    const v = spawn(cerbosBinary(), ['--version'])
    let out = ''
    v.stdout.on('data', (d) => {
      out += d
    })
    v.on('close', () => resolve(out.split('\n')[0]?.trim() ?? 'unknown'))
  })
  return {
    url,
    grpc: `127.0.0.1:${ports.grpc}`,
    pid: child.pid as number,
    loadMs,
    version,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.on('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export interface CerbosGrant {
  node: string
  role: string
  options: string[]
}

/** The body of one POST /api/check/resources: one principal, one resource, one action. */
export function cerbosCheckBody(
  person: string,
  grants: readonly CerbosGrant[],
  permission: string,
  node: string,
  path: readonly string[],
): unknown {
  return {
    principal: { id: person, roles: ['person'], attr: { grants } },
    resources: [{ actions: [permission], resource: { kind: 'node', id: node, attr: { path } } }],
  }
}

export function allowedIn(response: unknown, permission: string): boolean {
  const r = response as { results?: { actions?: Record<string, string> }[] }
  return r.results?.[0]?.actions?.[permission] === 'EFFECT_ALLOW'
}
