import { describe, expect, it } from 'vitest'
import { newNicHandle, nicHandlePattern } from './nic-handle.ts'

describe('NIC handles', () => {
  it('are two letters, five digits, a dash and the suffix', () => {
    for (let i = 0; i < 200; i++) expect(newNicHandle('OVH')).toMatch(/^[A-Z]{2}[0-9]{5}-OVH$/)
    expect(nicHandlePattern('OVH').test('AB12345-OVH')).toBe(true)
    expect(nicHandlePattern('OVH').test('AB1234-OVH')).toBe(false)
    expect(nicHandlePattern('OVH').test('ab12345-OVH')).toBe(false)
  })

  it('take their letters and digits from the random source', () => {
    const values = [0, 25, 42]
    expect(newNicHandle('OVH', () => values.shift() ?? 0)).toBe('AZ00042-OVH')
    expect(newNicHandle('X', (n) => n - 1)).toBe('ZZ99999-X')
  })

  it('differ from one another', () => {
    const handles = new Set(Array.from({ length: 1000 }, () => newNicHandle('OVH')))
    expect(handles.size).toBeGreaterThan(990)
  })
})
