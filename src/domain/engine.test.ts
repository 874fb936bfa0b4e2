import { describe, expect, it } from 'vitest'
import { loadPreset } from '../catalog/load.ts'
import { AccessEngine } from './engine.ts'
import { CustomerTree } from './tree.ts'

/** acme ─ acc-hq ─ svc-1, svc-2 ─ acc-branch ─ svc-3 ─ acc-deep ─ svc-4;  other ─ acc-o ─ svc-o */
function o2(clock = () => 1_000) {
  const tree = new CustomerTree()
  tree.addCustomer('acme')
  tree.addAccount('acc-hq', 'acme')
  tree.addService('svc-1', 'acc-hq', 'mobile')
  tree.addService('svc-2', 'acc-hq', 'mobile')
  tree.addAccount('acc-branch', 'acc-hq')
  tree.addService('svc-3', 'acc-branch', 'voip')
  tree.addAccount('acc-deep', 'acc-branch')
  tree.addService('svc-4', 'acc-deep')
  tree.addCustomer('other')
  tree.addAccount('acc-o', 'other')
  tree.addService('svc-o', 'acc-o')
  const engine = new AccessEngine(loadPreset('o2-cz'), tree, { clock })
  engine.addGrant({ id: 'p', person: 'alice', role: 'primary-admin', scope: 'acme' })
  return engine
}

describe('check and explain', () => {
  it('an account grant covers sub-accounts and their services, never the parent or siblings', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin', scope: 'acc-branch' })
    expect(e.check('bob', 'service.order', 'svc-3')).toBe(true)
    expect(e.check('bob', 'service.order', 'svc-4')).toBe(true)
    expect(e.check('bob', 'node.view', 'acc-deep')).toBe(true)
    expect(e.check('bob', 'node.view', 'acc-hq')).toBe(false)
    expect(e.check('bob', 'node.view', 'svc-1')).toBe(false)
    expect(e.check('bob', 'node.view', 'acme')).toBe(false)
    expect(e.check('alice', 'node.view', 'svc-o')).toBe(false)
  })

  it('explains which grant on which ancestor allowed it', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin', scope: 'acc-branch' })
    const x = e.explain('bob', 'service.cancel', 'svc-4')
    expect(x.allowed).toBe(true)
    expect(x.grant?.id).toBe('b')
    expect(x.reason).toBe('allowed by account-admin on acc-branch, which contains svc-4')
  })

  it('explains a missing option and an uncovered node', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin', scope: 'acc-branch' })
    expect(e.explain('bob', 'billing.statements.view', 'svc-3').reason).toBe(
      'account-admin on acc-branch gives billing.statements.view only with the option statements',
    )
    expect(e.explain('bob', 'node.view', 'svc-1').reason).toBe(
      'no grant of bob covers svc-1 (grants on: acc-branch)',
    )
    expect(e.explain('nobody', 'node.view', 'svc-1').reason).toBe('nobody holds no grants')
  })

  it('switches optional permissions on with options', () => {
    const e = o2()
    e.addGrant({
      id: 'c',
      person: 'carol',
      role: 'customer-accountant',
      scope: 'acme',
      options: ['statements'],
    })
    e.addGrant({ id: 'd', person: 'dan', role: 'customer-accountant', scope: 'acme' })
    expect(e.check('carol', 'billing.statements.view', 'svc-2')).toBe(true)
    expect(e.check('dan', 'billing.statements.view', 'svc-2')).toBe(false)
    expect(e.check('dan', 'billing.invoices.view', 'svc-2')).toBe(true)
    expect(e.check('dan', 'node.view', 'svc-2')).toBe(false)
  })

  it('an expired grant gives nothing, and says so', () => {
    let now = 1_000
    const e = o2(() => now)
    e.addGrant({ id: 't', person: 'tom', role: 'service-user', scope: 'svc-1', expiresAt: 2_000 })
    expect(e.check('tom', 'service.block', 'svc-1')).toBe(true)
    now = 2_000
    expect(e.check('tom', 'service.block', 'svc-1')).toBe(false)
    expect(e.explain('tom', 'service.block', 'svc-1').reason).toBe('service-user on svc-1 expired')
  })

  it('refuses a deactivated person everything until reactivated', () => {
    const e = o2()
    e.setPersonActive('alice', false)
    expect(e.check('alice', 'node.view', 'acme')).toBe(false)
    expect(e.list('alice', 'node.view', 'service').nodes).toEqual([])
    e.setPersonActive('alice', true)
    expect(e.check('alice', 'node.view', 'acme')).toBe(true)
  })

  it('uses the ancestor walk for people with many grants and gives the same answers', () => {
    const e = o2()
    for (const s of ['svc-1', 'svc-2', 'svc-3', 'svc-4'])
      e.addGrant({ id: `v-${s}`, person: 'vic', role: 'service-viewer', scope: s })
    for (let i = 0; i < 10; i++) {
      e.tree.addService(`extra-${i}`, 'acc-deep')
      e.addGrant({ id: `x${i}`, person: 'vic', role: 'service-user', scope: `extra-${i}` })
    }
    expect(e.check('vic', 'node.view', 'svc-3')).toBe(true)
    expect(e.check('vic', 'service.block', 'extra-9')).toBe(true)
    expect(e.check('vic', 'service.block', 'svc-3')).toBe(false)
    expect(e.check('vic', 'node.view', 'acc-deep')).toBe(false)
  })
})

describe('list', () => {
  it('pages in tree order with a stable cursor, and streams the same nodes', () => {
    const e = o2()
    const first = e.list('alice', 'node.view', 'service', { limit: 2 })
    expect(first).toEqual({ nodes: ['svc-1', 'svc-2'], next: 'svc-2' })
    const second = e.list('alice', 'node.view', 'service', { limit: 2, after: first.next })
    expect(second).toEqual({ nodes: ['svc-3', 'svc-4'], next: null })
    expect([...e.listAll('alice', 'node.view', 'service')]).toEqual(['svc-1', 'svc-2', 'svc-3', 'svc-4'])
  })

  it('merges overlapping grants without duplicates', () => {
    const e = o2()
    e.addGrant({ id: 'b1', person: 'bob', role: 'account-viewer', scope: 'acc-hq' })
    e.addGrant({ id: 'b2', person: 'bob', role: 'account-viewer', scope: 'acc-branch' })
    e.addGrant({ id: 'b3', person: 'bob', role: 'service-viewer', scope: 'svc-o' })
    expect([...e.listAll('bob', 'node.view', 'account')]).toEqual(['acc-hq', 'acc-branch', 'acc-deep'])
    expect([...e.listAll('bob', 'node.view', 'service')]).toEqual([
      'svc-1',
      'svc-2',
      'svc-3',
      'svc-4',
      'svc-o',
    ])
  })

  it('sees nodes added after the index was built', () => {
    const e = o2()
    expect(e.list('alice', 'node.view', 'service').nodes).toHaveLength(4)
    e.tree.addService('svc-new', 'acc-branch') // the last child of acc-branch: after acc-deep's subtree
    expect(e.list('alice', 'node.view', 'service').nodes).toEqual([
      'svc-1',
      'svc-2',
      'svc-3',
      'svc-4',
      'svc-new',
    ])
  })

  it('rejects a cursor naming no node', () => {
    expect(() => o2().list('alice', 'node.view', 'service', { after: 'nope' })).toThrow(/cursor/)
  })
})

describe('delegation', () => {
  it('refuses limited roles to everyone, with the reason', () => {
    const d = o2().canGrant('alice', { person: 'zed', role: 'primary-admin', scope: 'acme' })
    expect(d).toMatchObject({ allowed: false, code: 'OPERATOR_ONLY' })
  })

  it('lets the primary admin create customer admins, and customer admins not', () => {
    const e = o2()
    expect(e.canGrant('alice', { person: 'bob', role: 'customer-admin', scope: 'acme' }).allowed).toBe(true)
    e.addGrant({ id: 'b', person: 'bob', role: 'customer-admin', scope: 'acme' })
    expect(e.canGrant('bob', { person: 'carl', role: 'customer-admin', scope: 'acme' })).toMatchObject({
      allowed: false,
      code: 'NOT_IN_MAY_GRANT',
    })
    expect(e.canGrant('bob', { person: 'carl', role: 'account-admin', scope: 'acc-hq' }).allowed).toBe(true)
  })

  it('peer customer admins cannot revoke each other; the primary admin can', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'customer-admin', scope: 'acme' })
    e.addGrant({ id: 'c', person: 'carl', role: 'customer-admin', scope: 'acme' })
    expect(e.canRevoke('bob', 'c').allowed).toBe(false)
    expect(e.canRevoke('alice', 'c').allowed).toBe(true)
    expect(e.canRevoke('bob', 'p')).toMatchObject({ allowed: false, code: 'OPERATOR_ONLY' })
  })

  it('keeps the ceiling: no statements handed out by an admin without them', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin', scope: 'acc-hq' })
    const d = e.canGrant('bob', {
      person: 'x',
      role: 'account-accountant',
      scope: 'acc-branch',
      options: ['statements'],
    })
    expect(d).toMatchObject({ allowed: false, code: 'ABOVE_CEILING' })
    expect(d.reason).toContain('billing.statements.view')
    expect(e.canGrant('bob', { person: 'x', role: 'account-accountant', scope: 'acc-branch' }).allowed).toBe(
      true,
    )
  })

  it('never lets an account admin reach outside its subtree or above its level', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin', scope: 'acc-branch' })
    expect(e.canGrant('bob', { person: 'x', role: 'account-viewer', scope: 'acc-hq' }).code).toBe(
      'NOT_PERMITTED_TO_MANAGE',
    )
    expect(e.canGrant('bob', { person: 'x', role: 'customer-viewer', scope: 'acme' }).allowed).toBe(false)
    expect(e.canGrant('bob', { person: 'x', role: 'account-viewer', scope: 'svc-3' }).code).toBe(
      'WRONG_SCOPE_KIND',
    )
  })

  it('an admin without billing cannot hand out billing roles', () => {
    const e = o2()
    e.addGrant({ id: 'b', person: 'bob', role: 'account-admin-no-billing', scope: 'acc-hq' })
    expect(e.canGrant('bob', { person: 'x', role: 'account-accountant', scope: 'acc-hq' }).allowed).toBe(
      false,
    )
    expect(e.canGrant('bob', { person: 'x', role: 'account-admin', scope: 'acc-branch' }).allowed).toBe(false)
    expect(e.canGrant('bob', { person: 'x', role: 'service-admin', scope: 'svc-3' }).allowed).toBe(true)
  })

  it('a deactivated actor grants nothing', () => {
    const e = o2()
    e.setPersonActive('alice', false)
    expect(e.canGrant('alice', { person: 'x', role: 'service-viewer', scope: 'svc-1' }).code).toBe(
      'ACTOR_DEACTIVATED',
    )
  })

  it('refuses an expiry in the past', () => {
    const d = o2().canGrant('alice', { person: 'x', role: 'service-viewer', scope: 'svc-1', expiresAt: 500 })
    expect(d.code).toBe('ALREADY_EXPIRED')
  })

  it('TIM: reducing Admin Light to User removes invoices (a change replaces the grant)', () => {
    const tree = new CustomerTree()
    tree.addCustomer('srl')
    tree.addAccount('acc', 'srl')
    tree.addService('line-1', 'acc', 'mobile')
    const e = new AccessEngine(loadPreset('tim-business'), tree)
    e.addGrant({ id: 'lr', person: 'rita', role: 'legal-rep', scope: 'srl' })
    e.addGrant({ id: 'l', person: 'luca', role: 'admin-light', scope: 'srl' })
    expect(e.check('luca', 'billing.invoices.view', 'acc')).toBe(true)
    const d = e.canChange('rita', 'l', { role: 'user', scope: 'line-1' })
    expect(d.allowed).toBe(true)
    expect(d.replaces.map((g) => g.id)).toEqual(['l'])
    for (const g of d.replaces) e.removeGrant(g.id)
    e.addGrant({ id: 'u', person: 'luca', role: 'user', scope: 'line-1', grantedBy: 'rita' })
    expect(e.check('luca', 'billing.invoices.view', 'acc')).toBe(false)
    expect(e.check('luca', 'service.block', 'line-1')).toBe(true)
    expect(e.canChange('luca', 'u', { role: 'admin-light', scope: 'srl' }).allowed).toBe(false)
  })

  it('OVH: a technical contact names a successor, who replaces it', () => {
    const tree = new CustomerTree()
    tree.addCustomer('c')
    tree.addAccount('a', 'c')
    tree.addService('vps', 'a')
    const e = new AccessEngine(loadPreset('ovh'), tree)
    e.addGrant({ id: 't', person: 'AB1-OVH', role: 'tech-contact', scope: 'vps' })
    const d = e.canGrant('AB1-OVH', { person: 'CD2-OVH', role: 'tech-contact', scope: 'vps' })
    expect(d.allowed).toBe(true)
    expect(d.replaces.map((g) => g.person)).toEqual(['AB1-OVH'])
    expect(e.canGrant('AB1-OVH', { person: 'CD2-OVH', role: 'billing-contact', scope: 'vps' }).allowed).toBe(
      false,
    )
    expect(e.canRevoke('AB1-OVH', 't').code).toBe('NEEDS_SUCCESSOR')
  })

  it('addGrant enforces the per-customer limit whoever calls it (I3)', () => {
    const e = o2()
    expect(() => e.addGrant({ id: 'p2', person: 'zed', role: 'primary-admin', scope: 'acme' })).toThrow(
      /at most 1/,
    )
    expect(() => e.addGrant({ id: 'p3', person: 'zed', role: 'primary-admin', scope: 'other' })).not.toThrow()
  })
})

describe('permissions limited to service types', () => {
  function tim() {
    const tree = new CustomerTree()
    tree.addCustomer('srl')
    tree.addAccount('acc', 'srl')
    tree.addService('mob', 'acc', 'mobile')
    tree.addService('fisso', 'acc', 'voip')
    tree.addService('untyped', 'acc')
    const e = new AccessEngine(loadPreset('tim-business'), tree)
    e.addGrant({ id: 'lr', person: 'rita', role: 'legal-rep', scope: 'srl' })
    e.addGrant({ id: 'l', person: 'luca', role: 'admin-light', scope: 'srl' })
    return e
  }

  it('TIM Admin Light manages mobile lines only, but sees and reads invoices everywhere', () => {
    const e = tim()
    expect(e.check('luca', 'service.tariff.change', 'mob')).toBe(true)
    expect(e.check('luca', 'service.tariff.change', 'fisso')).toBe(false)
    expect(e.check('luca', 'service.tariff.change', 'untyped')).toBe(true)
    expect(e.check('luca', 'node.view', 'fisso')).toBe(true)
    expect(e.check('luca', 'billing.invoices.view', 'fisso')).toBe(true)
    expect(e.explain('luca', 'service.block', 'fisso').reason).toBe(
      'admin-light on srl gives service.block only on mobile services; fisso is a voip service',
    )
    expect([...e.listAll('luca', 'service.block', 'service')]).toEqual(['mob', 'untyped'])
    expect([...e.listAll('luca', 'node.view', 'service')]).toEqual(['mob', 'fisso', 'untyped'])
    expect(e.permissionsOn('luca', 'fisso')).not.toContain('service.block')
  })

  it('a catalog where a type-limited role could hand out the same permissions unlimited is rejected', async () => {
    const { compileCatalog } = await import('./catalog.ts')
    const def = structuredClone(loadPreset('tim-business').definition)
    const light = def.roles.find((r) => r.id === 'admin-light')
    if (!light) throw new Error('no admin-light')
    light.permissions = [...(light.permissions as string[]), 'users.manage']
    light.may_grant = ['device-user']
    const r = compileCatalog(def)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.issues[0]?.message).toMatch(
      /could grant above itself: device-user gives .*service.block.* on every service type/,
    )
  })
})

describe('the ceiling in time', () => {
  it('someone whose grant expires cannot hand out, or give themselves, anything lasting longer', () => {
    const e = o2(() => 1_000)
    e.addGrant({
      id: 't',
      person: 'temp',
      role: 'account-admin',
      scope: 'acc-hq',
      expiresAt: 50_000,
      grantedBy: 'alice',
    })
    const forever = e.canGrant('temp', { person: 'friend', role: 'account-viewer', scope: 'acc-branch' })
    expect(forever).toMatchObject({ allowed: false, code: 'BEYOND_OWN_EXPIRY' })
    expect(forever.reason).toContain('1970-01-01T00:00:50.000Z')
    expect(
      e.canGrant('temp', { person: 'friend', role: 'account-viewer', scope: 'acc-branch', expiresAt: 50_000 })
        .allowed,
    ).toBe(true)
    expect(
      e.canGrant('temp', { person: 'friend', role: 'account-viewer', scope: 'acc-branch', expiresAt: 50_001 })
        .allowed,
    ).toBe(false)
    expect(e.canChange('temp', 't', { expiresAt: null }).code).toBe('BEYOND_OWN_EXPIRY')
    expect(e.canGrant('temp', { person: 'temp', role: 'account-admin', scope: 'acc-hq' }).code).toBe(
      'BEYOND_OWN_EXPIRY',
    )
  })

  it('a lasting grant elsewhere up the tree lifts the limit; revoking is not limited by time', () => {
    const e = o2(() => 1_000)
    e.addGrant({ id: 't', person: 'temp', role: 'account-admin', scope: 'acc-branch', expiresAt: 50_000 })
    e.addGrant({ id: 'v', person: 'vera', role: 'account-viewer', scope: 'acc-branch' })
    expect(e.canRevoke('temp', 'v').allowed).toBe(true)
    e.addGrant({ id: 'h', person: 'temp', role: 'account-admin', scope: 'acc-hq' })
    expect(
      e.canGrant('temp', { person: 'friend', role: 'account-viewer', scope: 'acc-branch' }).allowed,
    ).toBe(true)
  })
})
