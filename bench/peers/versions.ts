/** Installed package versions, read from node_modules (some packages do not export package.json). */
import { readFileSync } from 'node:fs'

export function versionOf(pkg: string): string {
  try {
    const file = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** This repository's own version (package.json). */
export function zonaVersion(): string {
  const file = new URL('../../package.json', import.meta.url)
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}
