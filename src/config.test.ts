import { describe, expect, it } from 'vitest'
import { readConfig } from './config.ts'

describe('configuration', () => {
  it('has safe defaults', () => {
    const r = readConfig({})
    expect(r.ok && r.config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      ZONA_PRESET: 'o2-cz',
      ZONA_DATA_DIR: './data',
    })
    expect(r.ok && r.config.publicUrl).toBe('http://127.0.0.1:3000')
  })

  it('reports every bad value with its variable name', () => {
    const r = readConfig({
      PORT: 'abc',
      ZONA_PRESET: 'nope',
      DATABASE_URL: 'mysql://x',
      SMTP_URL: 'http://x',
    })
    expect(r.ok).toBe(false)
    const errors = r.ok ? [] : r.errors
    expect(errors.map((e) => e.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'PORT',
      'SMTP_URL',
      'ZONA_PRESET',
    ])
    expect(errors.find((e) => e.startsWith('ZONA_PRESET'))).toContain('tim-business')
  })

  it('treats empty variables as unset', () => {
    const r = readConfig({ DATABASE_URL: '', PORT: '' })
    expect(r.ok && r.config.DATABASE_URL).toBeUndefined()
  })
})
