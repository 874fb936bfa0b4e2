/**
 * OVH-style customer identifiers ("NIC handles"): two uppercase letters, five digits, a dash
 * and the operator's suffix, e.g. AB12345-OVH. Used as login names where the catalog says
 * `login_format: nic-handle`.
 */
import { randomInt } from 'node:crypto'

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

/** The shape of a handle with this suffix. */
export function nicHandlePattern(suffix: string): RegExp {
  return new RegExp(`^[A-Z]{2}[0-9]{5}-${suffix.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
}

/**
 * A new random handle. `random(n)` returns an integer in [0, n); tests pass a fixed one.
 *
 * @example newNicHandle('OVH') // 'QK40217-OVH'
 */
export function newNicHandle(suffix: string, random: (n: number) => number = randomInt): string {
  const letter = () => LETTERS[random(LETTERS.length)] as string
  const letters = letter() + letter()
  const digits = String(random(100_000)).padStart(5, '0')
  return `${letters}${digits}-${suffix}`
}
