/**
 * Role catalogs: the data that makes a preset (o2-cz, nos-pt, ovh, sk-isp, tim-business).
 *
 * `compileCatalog` turns the plain definition (parsed from YAML by the catalog room) into a
 * `Catalog` with permission bit masks, or returns every problem with the path of the field
 * at fault, so the loader can point at a line.
 */
import { z } from 'zod'
import { MAX_PERMISSIONS, PERMISSION_NAME } from './permissions.ts'
import { NODE_KINDS, type NodeKind } from './tree.ts'

const ID = /^[a-z][a-z0-9-]*$/
const LANG = /^[a-z]{2}$/

const Localized = z.record(z.string().regex(LANG, 'a two-letter language code'), z.string().min(1))

const OptionDefinition = z.strictObject({
  permissions: z.array(z.string()).min(1),
  name: Localized,
})

const RoleDefinition = z.strictObject({
  id: z.string().regex(ID, 'lowercase letters, digits and dashes'),
  name: Localized,
  description: Localized.optional(),
  scope: z.enum(NODE_KINDS as [NodeKind, ...NodeKind[]]),
  permissions: z.union([z.literal('all'), z.array(z.string())]),
  except: z.array(z.string()).optional(),
  options: z
    .record(z.string().regex(ID, 'lowercase letters, digits and dashes'), OptionDefinition)
    .optional(),
  may_grant: z.array(z.string()).optional(),
  granted_with: z.string().optional(),
  limit_per_customer: z.number().int().min(1).optional(),
  limit_per_scope: z.number().int().min(1).optional(),
  appointed_by: z.enum(['operator', 'customer']).optional(),
  may_name_successor: z.boolean().optional(),
  limit_to_service_types: z
    .strictObject({ types: z.array(z.string().min(1)).min(1), permissions: z.array(z.string()).min(1) })
    .optional(),
})

const CatalogDefinition = z.strictObject({
  id: z.string().regex(ID, 'lowercase letters, digits and dashes'),
  name: Localized,
  operator: z.string().min(1),
  language: z.string().regex(LANG, 'a two-letter language code'),
  languages: z.array(z.string().regex(LANG)).optional(),
  features: z
    .strictObject({
      account_requests: z.boolean().optional(),
      contact_changes: z.boolean().optional(),
      login_format: z.enum(['free', 'nic-handle']).optional(),
      login_suffix: z
        .string()
        .regex(/^[A-Z0-9]{1,8}$/)
        .optional(),
    })
    .optional(),
  permissions: z.array(z.string()).min(1),
  roles: z.array(RoleDefinition).min(1),
})

export type CatalogDefinition = z.infer<typeof CatalogDefinition>
export type RoleDefinition = z.infer<typeof RoleDefinition>
export type Localized = Record<string, string>

export interface CatalogIssue {
  /** Where in the definition: ['roles', 3, 'may_grant', 0]. */
  path: (string | number)[]
  message: string
}

export interface Role {
  id: string
  index: number
  name: Localized
  description: Localized | undefined
  scope: NodeKind
  /** Permissions the role always gives. */
  mask: number
  /** Option id → the extra permissions it switches on. */
  options: ReadonlyMap<string, number>
  optionNames: ReadonlyMap<string, Localized>
  /** base | every option: the most this role can ever give. */
  maxMask: number
  mayGrant: ReadonlySet<string>
  /** The permission a granter must hold on the scope (users.manage unless the catalog says otherwise). */
  grantedWithBit: number
  limitPerCustomer: number | undefined
  limitPerScope: number | undefined
  appointedByOperator: boolean
  mayNameSuccessor: boolean
  /**
   * Permissions that hold on services only when the service's type is listed (TIM's Admin Light
   * manages mobile lines). Accounts, customers and services of unrecorded type are not limited.
   */
  serviceTypeLimit: { mask: number; types: ReadonlySet<string> } | undefined
}

export interface Catalog {
  id: string
  name: Localized
  operator: string
  language: string
  languages: string[]
  features: {
    accountRequests: boolean
    contactChanges: boolean
    loginFormat: 'free' | 'nic-handle'
    loginSuffix: string
  }
  permissions: readonly string[]
  roles: readonly Role[]
  role(id: string): Role | undefined
  /** Bit of a permission, or 0 when the catalog does not know it. */
  bit(permission: string): number
  /** Permission names in a mask, in catalog order. */
  permissionsOf(mask: number): string[]
  /** Mask of a role with the given options switched on; unknown options are ignored (validate first). */
  maskOf(role: Role, options: readonly string[]): number
  definition: CatalogDefinition
}

export type CompileResult = { ok: true; catalog: Catalog } | { ok: false; issues: CatalogIssue[] }

/** Validate and compile a catalog definition. Never throws on bad input: every problem is returned. */
export function compileCatalog(input: unknown): CompileResult {
  const parsed = CatalogDefinition.safeParse(input)
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => ({
        path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
        message: i.message,
      })),
    }
  }
  const def = parsed.data
  const issues: CatalogIssue[] = []

  const bits = new Map<string, number>()
  def.permissions.forEach((p, i) => {
    if (!PERMISSION_NAME.test(p))
      issues.push({
        path: ['permissions', i],
        message: `"${p}" is not a permission name (dotted lowercase words)`,
      })
    else if (bits.has(p))
      issues.push({ path: ['permissions', i], message: `permission ${p} is declared twice` })
    else if (bits.size >= MAX_PERMISSIONS)
      issues.push({
        path: ['permissions', i],
        message: `a catalog may declare at most ${MAX_PERMISSIONS} permissions`,
      })
    else bits.set(p, 1 << bits.size)
  })
  const all = [...bits.values()].reduce((m, b) => m | b, 0)
  const names = (m: number) => [...bits].filter(([, b]) => (m & b) !== 0).map(([p]) => p)

  const maskFrom = (names: readonly string[], path: (string | number)[]): number => {
    let m = 0
    names.forEach((p, i) => {
      const b = bits.get(p)
      if (b === undefined)
        issues.push({ path: [...path, i], message: `unknown permission ${p}; declare it under permissions` })
      else m |= b
    })
    return m
  }

  const languages = def.languages ?? [def.language, 'en']
  const checkLocalized = (value: Localized | undefined, path: (string | number)[]) => {
    if (!value) return
    for (const lang of new Set([def.language, 'en'])) {
      if (!value[lang]) issues.push({ path, message: `missing the ${lang} text` })
    }
  }
  checkLocalized(def.name, ['name'])

  const roleIndex = new Map<string, number>()
  def.roles.forEach((r, i) => {
    if (roleIndex.has(r.id))
      issues.push({ path: ['roles', i, 'id'], message: `role ${r.id} is defined twice` })
    else roleIndex.set(r.id, i)
  })

  const roles: Role[] = def.roles.map((r, i) => {
    const at = ['roles', i]
    checkLocalized(r.name, [...at, 'name'])
    checkLocalized(r.description, [...at, 'description'])
    let mask: number
    if (r.permissions === 'all') {
      mask = all & ~maskFrom(r.except ?? [], [...at, 'except'])
    } else {
      if (r.except)
        issues.push({ path: [...at, 'except'], message: 'except only goes with permissions: all' })
      mask = maskFrom(r.permissions, [...at, 'permissions'])
    }
    const options = new Map<string, number>()
    const optionNames = new Map<string, Localized>()
    for (const [id, o] of Object.entries(r.options ?? {})) {
      const om = maskFrom(o.permissions, [...at, 'options', id, 'permissions'])
      if ((om & mask) === om && om !== 0)
        issues.push({
          path: [...at, 'options', id],
          message: `option ${id} switches on nothing the role does not already give`,
        })
      options.set(id, om & ~mask)
      optionNames.set(id, o.name)
      checkLocalized(o.name, [...at, 'options', id, 'name'])
    }
    let grantedWithBit = bits.get('users.manage') ?? 0
    if (r.granted_with !== undefined) {
      const b = bits.get(r.granted_with)
      if (b === undefined)
        issues.push({ path: [...at, 'granted_with'], message: `unknown permission ${r.granted_with}` })
      else grantedWithBit = b
    }
    if (grantedWithBit === 0 && r.appointed_by !== 'operator')
      issues.push({
        path: [...at, 'granted_with'],
        message: 'no permission lets anyone grant this role: declare users.manage or set granted_with',
      })
    if (r.limit_per_customer !== undefined && r.scope !== 'customer')
      issues.push({
        path: [...at, 'limit_per_customer'],
        message: 'limit_per_customer goes with scope: customer; use limit_per_scope',
      })
    if (r.may_name_successor && r.limit_per_scope !== 1)
      issues.push({
        path: [...at, 'may_name_successor'],
        message: 'a successor replaces the holder, so it needs limit_per_scope: 1',
      })
    const maxMask = [...options.values()].reduce((m, b) => m | b, mask)
    let serviceTypeLimit: Role['serviceTypeLimit']
    if (r.limit_to_service_types) {
      const at_ = [...at, 'limit_to_service_types', 'permissions']
      const limited = maskFrom(r.limit_to_service_types.permissions, at_)
      if ((limited & ~maxMask) !== 0)
        issues.push({
          path: at_,
          message: `limits ${names(limited & ~maxMask).join(', ')}, which the role does not give`,
        })
      serviceTypeLimit = { mask: limited, types: new Set(r.limit_to_service_types.types) }
    }
    return {
      id: r.id,
      index: i,
      name: r.name,
      description: r.description,
      scope: r.scope,
      mask,
      options,
      optionNames,
      maxMask,
      mayGrant: new Set(r.may_grant ?? []),
      grantedWithBit,
      limitPerCustomer: r.limit_per_customer,
      limitPerScope: r.limit_per_scope,
      appointedByOperator: r.appointed_by === 'operator',
      mayNameSuccessor: r.may_name_successor ?? false,
      serviceTypeLimit,
    }
  })

  const depth: Record<NodeKind, number> = { customer: 0, account: 1, service: 2 }
  const grantProblem = (r: Role, target: string): string | undefined => {
    const t = roleIndex.get(target)
    if (t === undefined) return `may_grant names ${target}, which is not a role of this catalog`
    const q = roles[t] as Role
    if (q.appointedByOperator) return `${target} is appointed by the operator only; no role may grant it`
    if (depth[q.scope] < depth[r.scope])
      return `${r.id} (scope ${r.scope}) cannot grant ${target}, whose scope ${q.scope} is above its own`
    const above = q.maxMask & ~r.maxMask
    if (above !== 0)
      return `${r.id} could grant above itself: ${target} can give ${names(above).join(', ')}, which ${r.id} never has`
    const limit = r.serviceTypeLimit
    if (limit) {
      const shared = q.maxMask & limit.mask
      const qLimit = q.serviceTypeLimit
      const unlimited = shared & ~(qLimit?.mask ?? 0)
      if (unlimited !== 0)
        return `${r.id} could grant above itself: ${target} gives ${names(unlimited).join(', ')} on every service type, ${r.id} only on ${[...limit.types].join(', ')}`
      if (qLimit && [...qLimit.types].some((t) => !limit.types.has(t)))
        return `${r.id} could grant above itself: ${target} reaches service types ${r.id} does not`
    }
    if ((r.maxMask & q.grantedWithBit) === 0)
      return `${r.id} lists ${target} in may_grant but never holds the permission needed to grant it`
    return undefined
  }
  roles.forEach((r, i) => {
    const def_ = def.roles[i] as RoleDefinition
    for (const [j, target] of (def_.may_grant ?? []).entries()) {
      const path = ['roles', i, 'may_grant', j]
      const problem = grantProblem(r, target)
      if (problem) issues.push({ path, message: problem })
    }
  })

  if (issues.length > 0) return { ok: false, issues }

  const byId = new Map(roles.map((r) => [r.id, r]))
  const permissionList = [...bits.keys()]
  const catalog: Catalog = {
    id: def.id,
    name: def.name,
    operator: def.operator,
    language: def.language,
    languages,
    features: {
      accountRequests: def.features?.account_requests ?? false,
      contactChanges: def.features?.contact_changes ?? false,
      loginFormat: def.features?.login_format ?? 'free',
      loginSuffix: def.features?.login_suffix ?? '',
    },
    permissions: permissionList,
    roles,
    role: (id) => byId.get(id),
    bit: (p) => bits.get(p) ?? 0,
    permissionsOf: names,
    maskOf: (role, options) => {
      let m = role.mask
      for (const o of options) m |= role.options.get(o) ?? 0
      return m
    },
    definition: def,
  }
  return { ok: true, catalog }
}
