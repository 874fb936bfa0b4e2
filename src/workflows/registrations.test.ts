import { describe, expect, it } from 'vitest'
import { loadPreset } from '../catalog/load.ts'
import { AccessEngine } from '../domain/engine.ts'
import { CustomerTree } from '../domain/tree.ts'
import { loginStatusDecision } from './registrations.ts'

/** acme ─ acc-hq ─ svc-1;  acme ─ acc-o ─ svc-o;  globex ─ acc-g ─ svc-g */
function engine() {
  const tree = new CustomerTree()
  tree.addCustomer('acme')
  tree.addAccount('acc-hq', 'acme')
  tree.addService('svc-1', 'acc-hq', 'mobile')
  tree.addAccount('acc-o', 'acme')
  tree.addService('svc-o', 'acc-o', 'mobile')
  tree.addCustomer('globex')
  tree.addAccount('acc-g', 'globex')
  tree.addService('svc-g', 'acc-g', 'mobile')
  const e = new AccessEngine(loadPreset('o2-cz'), tree)
  e.addGrant({ id: 'pam', person: 'pam', role: 'primary-admin', scope: 'acme' })
  e.addGrant({ id: 'ann', person: 'ann', role: 'account-admin', scope: 'acc-hq' })
  e.addGrant({ id: 'gina', person: 'gina', role: 'primary-admin', scope: 'globex' })
  return e
}

describe('who may switch a login off (and on)', () => {
  it('allows it to whoever may revoke every grant the person holds', () => {
    const e = engine()
    e.addGrant({ id: 'd1', person: 'dora', role: 'service-user', scope: 'svc-1' })
    e.addGrant({ id: 'd2', person: 'dora', role: 'account-viewer', scope: 'acc-hq' })
    expect(loginStatusDecision(e, 'ann', 'dora', 'acme')).toMatchObject({ allowed: true, code: 'ALLOWED' })
    expect(loginStatusDecision(e, 'pam', 'dora', 'acme')).toMatchObject({ allowed: true })
  })

  it('refuses with the engine’s reason when one grant at the customer is out of the actor’s reach', () => {
    const e = engine()
    e.addGrant({ id: 'b1', person: 'bert', role: 'service-user', scope: 'svc-1' })
    e.addGrant({ id: 'b2', person: 'bert', role: 'service-user', scope: 'svc-o' })
    const d = loginStatusDecision(e, 'ann', 'bert', 'acme')
    expect(d).toMatchObject({ allowed: false, code: 'NOT_PERMITTED_TO_MANAGE' })
    expect(d.reason).toContain('svc-o')
  })

  it('refuses a login shared with another customer without naming it, unless the actor manages both', () => {
    const e = engine()
    e.addGrant({ id: 's1', person: 'sam', role: 'service-user', scope: 'svc-1' })
    e.addGrant({ id: 's2', person: 'sam', role: 'service-viewer', scope: 'svc-g' })
    const d = loginStatusDecision(e, 'pam', 'sam', 'acme')
    expect(d).toMatchObject({ allowed: false, code: 'SHARED_LOGIN' })
    expect(d.reason).not.toMatch(/globex|svc-g/)
    e.addGrant({ id: 'pam-g', person: 'pam', role: 'customer-admin', scope: 'globex' })
    expect(loginStatusDecision(e, 'pam', 'sam', 'acme')).toMatchObject({ allowed: true })
  })

  it('leaves holders of operator-appointed roles to the operator, and nobody switches themselves off', () => {
    const e = engine()
    e.addGrant({ id: 'carl', person: 'carl', role: 'customer-admin', scope: 'acme' })
    expect(loginStatusDecision(e, 'carl', 'pam', 'acme')).toMatchObject({
      allowed: false,
      code: 'OPERATOR_ONLY',
    })
    expect(loginStatusDecision(e, 'pam', 'pam', 'acme')).toMatchObject({ allowed: false, code: 'SELF' })
  })

  it('refuses a deactivated actor', () => {
    const e = engine()
    e.addGrant({ id: 'd1', person: 'dora', role: 'service-user', scope: 'svc-1' })
    e.setPersonActive('ann', false)
    expect(loginStatusDecision(e, 'ann', 'dora', 'acme')).toMatchObject({
      allowed: false,
      code: 'ACTOR_DEACTIVATED',
    })
  })
})
