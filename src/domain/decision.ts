/** Results of the engine's questions. Decisions are values, never exceptions. */

export type DecisionCode =
  | 'ALLOWED'
  | 'NO_SUCH_ROLE'
  | 'NO_SUCH_NODE'
  | 'NO_SUCH_OPTION'
  | 'NO_SUCH_GRANT'
  | 'WRONG_SCOPE_KIND'
  | 'OPERATOR_ONLY'
  | 'NOT_PERMITTED_TO_MANAGE'
  | 'NOT_IN_MAY_GRANT'
  | 'ABOVE_CEILING'
  | 'BEYOND_OWN_EXPIRY'
  | 'LIMIT_REACHED'
  | 'NEEDS_SUCCESSOR'
  | 'ALREADY_EXPIRED'
  | 'ACTOR_DEACTIVATED'

export interface GrantView {
  id: string
  person: string
  role: string
  scope: string
  options: string[]
  /** Milliseconds since the epoch, or null for no expiry. */
  expiresAt: number | null
  grantedBy: string | null
  grantedAt: number | null
}

export interface Decision {
  allowed: boolean
  code: DecisionCode
  /** One sentence a person can read. */
  reason: string
  /** Grants that applying this decision removes: the holder a successor replaces, or the grant being changed. */
  replaces: GrantView[]
}

export interface ConsideredGrant {
  grant: GrantView
  /** The grant's scope is the node or one of its ancestors. */
  covers: boolean
  /** The role, with the grant's options, gives the permission. */
  gives: boolean
  expired: boolean
  /** An option of the role that would give the permission, when it is off on this grant. */
  missingOption?: string
  /** The node's service type, when the role gives the permission only on other types. */
  wrongServiceType?: string
}

/** Why a check came out as it did, for programs; `reason` says the same for people. */
export type ExplanationCode =
  | 'ALLOWED'
  | 'NOT_IN_CATALOG'
  | 'NO_SUCH_NODE'
  | 'DEACTIVATED'
  | 'NO_GRANTS'
  | 'NOT_IN_SCOPE'
  | 'GRANT_EXPIRED'
  | 'WRONG_SERVICE_TYPE'
  | 'OPTION_OFF'
  | 'NOT_IN_ROLE'

export interface Explanation {
  allowed: boolean
  code: ExplanationCode
  person: string
  permission: string
  node: string
  /** The grant that allows it, when allowed. */
  grant: GrantView | null
  reason: string
  considered: ConsideredGrant[]
}
