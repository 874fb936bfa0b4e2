/** Schemas shared by routes; each route declares its own body and response with these. */
import { Type } from '@fastify/type-provider-typebox'

export const Id = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s\\u0000-\\u001f]+$' })

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.String(),
    request_id: Type.String(),
    field: Type.Optional(Type.String()),
    explanation: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    retry_after: Type.Optional(Type.Integer()),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
)

/** Responses every route may give besides its own. */
export const problems = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')])) as Record<
    number,
    ReturnType<typeof Type.Ref>
  >

export const Cursor = Type.String({
  minLength: 1,
  maxLength: 500,
  description: 'next_cursor of the previous page',
})
export const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
