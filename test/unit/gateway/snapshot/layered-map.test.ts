// A derived map reads as the changed map, leaves the map it came from as it was, and shares
// that map's entries until its layer of changes grows large enough to fold.
import { describe, expect, it } from 'vitest'
import { LayeredMap } from '../../../../src/gateway/snapshot/layered-map.js'

function numbers (count: number): LayeredMap<string, number> {
  return LayeredMap.from(new Map(Array.from({ length: count }, (_, index) => [`k${index}`, index])))
}

describe('LayeredMap', () => {
  it('reads a derivation as the changed map and leaves the original as it was', () => {
    const before = numbers(3)
    const edit = before.edit()
    edit.set('k0', 100)
    edit.delete('k1')
    edit.set('new', 7)
    edit.delete('absent')
    expect(edit.get('k0')).toBe(100)
    expect(edit.has('k1')).toBe(false)
    const after = edit.commit()
    expect([...after.entries()].sort()).toEqual([['k0', 100], ['k2', 2], ['new', 7]])
    expect(after.size).toBe(3)
    expect(after.get('k1')).toBeUndefined()
    expect(after.has('new')).toBe(true)
    expect([...after.keys()].sort()).toEqual(['k0', 'k2', 'new'])
    expect([...after.values()].sort((a, b) => a - b)).toEqual([2, 7, 100])
    expect([...before]).toEqual([['k0', 0], ['k1', 1], ['k2', 2]])
    expect(before.size).toBe(3)
  })

  it('forgets a key added and removed again, and counts a key set twice once', () => {
    const edit = numbers(2).edit()
    edit.set('new', 1)
    edit.set('new', 2)
    edit.delete('new')
    edit.set('k0', 5)
    edit.set('k0', 6)
    const after = edit.commit()
    expect(after.size).toBe(2)
    expect([...after].sort()).toEqual([['k0', 6], ['k1', 1]])
  })

  it('gives the original back when nothing was written, and refuses writes after the commit', () => {
    const before = numbers(3)
    const edit = before.edit()
    expect(edit.commit()).toBe(before)
    expect(() => { edit.set('k0', 1) }).toThrow()
  })

  it('shares the base across derivations of a large map, then folds a large layer into a new base', () => {
    const original = numbers(10_000)
    let current = original
    for (let index = 0; index < 1024; index++) {
      const edit = current.edit()
      edit.delete(`k${index}`)
      current = edit.commit()
      expect(current.sharesBaseWith(original)).toBe(true)
    }
    const edit = current.edit()
    edit.set('extra', -1)
    const folded = edit.commit()
    expect(folded.sharesBaseWith(original)).toBe(false)
    expect(folded.size).toBe(10_000 - 1024 + 1)
    expect(folded.get('extra')).toBe(-1)
    expect(folded.has('k0')).toBe(false)
    expect(folded.get('k5000')).toBe(5000)
    expect(original.size).toBe(10_000)
    expect(original.get('k1')).toBe(1)
  })
})
