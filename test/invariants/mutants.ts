/**
 * Engines with a planted mistake, used only to show that the invariant properties fail when the
 * engine is wrong (a property that cannot fail proves nothing).
 */
import type { Decision } from '../../src/domain/decision.ts'
import { AccessEngine, type GrantDraft, type GrantInput } from '../../src/domain/engine.ts'
import type { EngineFactory } from './world.ts'

/** Lets an actor hand out what they lack (no rule 6.1c for grants). */
export const noCeiling: EngineFactory = (catalog, tree, clock) =>
  new (class extends AccessEngine {
    override canGrant(actor: string, draft: GrantDraft): Decision {
      const d = super.canGrant(actor, draft)
      if (d.code !== 'ABOVE_CEILING') return d
      const same = this.findGrant(draft.person, draft.role, draft.scope)
      return { allowed: true, code: 'ALLOWED', reason: 'planted', replaces: same ? [same] : [] }
    }
  })(catalog, tree, { clock })

/** Lets customers hand out the operator's roles (primary admin, legal representative, owner). */
export const customersAppoint: EngineFactory = (catalog, tree, clock) =>
  new (class extends AccessEngine {
    override canGrant(actor: string, draft: GrantDraft): Decision {
      const d = super.canGrant(actor, draft)
      if (d.code !== 'OPERATOR_ONLY' || !this.check(actor, 'users.manage', draft.scope)) return d
      return { allowed: true, code: 'ALLOWED', reason: 'planted', replaces: [] }
    }
  })(catalog, tree, { clock })

/** Reads a clock three seconds late, so grants live on briefly after their expiry. */
export const lateClock: EngineFactory = (catalog, tree, clock) =>
  new AccessEngine(catalog, tree, { clock: () => clock() - 3_000 })

/** Remembers answers and forgets them only when a grant is added (not on revoke, expiry or deactivation). */
export const staleCache: EngineFactory = (catalog, tree, clock) =>
  new (class extends AccessEngine {
    private readonly memo = new Map<string, boolean>()
    override check(person: string, permission: string, node: string): boolean {
      const key = `${person} ${permission} ${node}`
      let v = this.memo.get(key)
      if (v === undefined) {
        v = super.check(person, permission, node)
        this.memo.set(key, v)
      }
      return v
    }
    override addGrant(input: GrantInput) {
      this.memo.clear()
      return super.addGrant(input)
    }
  })(catalog, tree, { clock })
