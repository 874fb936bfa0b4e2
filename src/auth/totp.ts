/**
 * The optional second factor: RFC 6238 time-based codes (6 digits, 30 s, SHA-1 – what every
 * authenticator app reads from an otpauth:// URI), through otplib.
 */
import { generate, generateSecret, generateURI, verify } from 'otplib'

export const TOTP_PERIOD_SECONDS = 30

export function newTotpSecret(): string {
  return generateSecret({ length: 20 })
}

/** The otpauth:// URI an authenticator app scans (as a QR code) or imports. */
export function totpUri(secret: string, issuer: string, label: string): string {
  return generateURI({ issuer, label, secret, period: TOTP_PERIOD_SECONDS })
}

/** The code valid at `now` (tests and the demo use it to play the authenticator app). */
export async function totpCode(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000), period: TOTP_PERIOD_SECONDS })
}

/**
 * Checks a code at `now`, accepting one period either side for clock drift. Returns the
 * time step it matched, or null. A step at or before `lastStep` is refused, so a code seen
 * once (shoulder-surfed, replayed) cannot be used again.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  now: Date,
  lastStep: number | null = null,
): Promise<number | null> {
  if (!/^[0-9]{6}$/.test(code)) return null
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(now.getTime() / 1000),
      period: TOTP_PERIOD_SECONDS,
      epochTolerance: TOTP_PERIOD_SECONDS,
      ...(lastStep !== null ? { afterTimeStep: lastStep } : {}),
    })
    return result.valid ? (result as { timeStep: number }).timeStep : null
  } catch {
    return null
  }
}
