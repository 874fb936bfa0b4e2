/**
 * Configuration from the environment, validated once at start. Every bad value is reported
 * with its variable name, and the process stops before it listens.
 */
import { z } from 'zod'
import { presetIds } from './catalog/load.ts'

const Env = z.object({
  PORT: z.coerce
    .number({ message: 'a port number from 0 to 65535' })
    .int('a whole number')
    .min(0)
    .max(65535)
    .default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL such as postgres://user:pass@host:5432/zona')
    .optional(),
  ZONA_DATA_DIR: z.string().min(1).default('./data'),
  ZONA_PRESET: z
    .string()
    .default('o2-cz')
    .refine((id) => presetIds().includes(id), { message: `a shipped preset: ${presetIds().join(', ')}` }),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'an SMTP URL such as smtp://user:pass@mail.example:587')
    .optional(),
  ZONA_PUBLIC_URL: z.url({ message: 'a URL such as https://zona.example.com' }).optional(),
  ZONA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ZONA_MAIL_FROM: z.string().default('Zona <zona@localhost>'),
  ZONA_INVITATION_DAYS: z.coerce.number({ message: 'a number of days' }).int().min(1).max(90).default(7),
  ZONA_CONTACT_CHANGE_DAYS: z.coerce.number({ message: 'a number of days' }).int().min(1).max(90).default(7),
  ZONA_SESSION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12),
  ZONA_OPERATOR_KEY: z.string().min(24, 'at least 24 characters').optional(),
  NODE_ENV: z.string().optional(),
})

export const ENV_HELP = `Environment:
  PORT                  port to listen on (default 3000)
  HOST                  address to listen on (default 127.0.0.1)
  DATABASE_URL          PostgreSQL URL; unset: embedded PGlite in ZONA_DATA_DIR
  ZONA_DATA_DIR         the embedded database's folder (default ./data)
  ZONA_PRESET           role catalog: ${presetIds().join(', ')} (default o2-cz)
  SMTP_URL              outgoing mail, e.g. smtp://user:pass@mail.example:587
  ZONA_PUBLIC_URL       the URL people reach Zona at, for links in e-mails (default http://HOST:PORT)
  ZONA_OPERATOR_KEY     an API key for the operator's back office, created on start when set
  ZONA_LOG_LEVEL        fatal|error|warn|info|debug|trace|silent (default info)
  ZONA_MAIL_FROM        sender of Zona's e-mail
  ZONA_INVITATION_DAYS  how long an invitation link works (default 7)
  ZONA_CONTACT_CHANGE_DAYS  how long a contact change waits for both approvals (default 7)
  ZONA_SESSION_HOURS    how long a login session lasts (default 12)`

export type Config = z.infer<typeof Env> & { publicUrl: string; production: boolean }

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

export function readConfig(env: Record<string, string | undefined> = process.env): ConfigResult {
  // Empty variables count as unset, as shells and compose files often leave them.
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = Env.safeParse(clean)
  if (!parsed.success)
    return {
      ok: false,
      errors: parsed.error.issues.map(
        (i) => `${i.path.join('.')}: ${i.message} (got "${clean[String(i.path[0])]}")`,
      ),
    }
  const c = parsed.data
  return {
    ok: true,
    config: {
      ...c,
      publicUrl: (c.ZONA_PUBLIC_URL ?? `http://${c.HOST}:${c.PORT}`).replace(/\/$/, ''),
      production: c.NODE_ENV === 'production',
    },
  }
}
