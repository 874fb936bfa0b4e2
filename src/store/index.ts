/**
 * The storage room: open the database, migrate it, and read and write through small
 * typed functions that each take the database or an open transaction first.
 */
export * from './audit.ts'
export * from './changes.ts'
export * from './common.ts'
export * from './db.ts'
export * from './errors.ts'
export * from './grants.ts'
export * from './migrate.ts'
export * from './people.ts'
export type * from './schema.ts'
export * from './tree.ts'
export * from './workflows.ts'
