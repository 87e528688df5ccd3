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

  it('shares the base across derivations, until the changed keys outgrow it', () => {
    const original = numbers(3_000)
    let current = original
    for (let index = 0; index < 3_100; index++) {
      const edit = current.edit()
      edit.set(`new${index}`, index)
      current = edit.commit()
      // the layer folds into the middle level every 1,024 keys; the middle level into a new base past the base's size
      if (index < 2_048) expect(current.sharesBaseWith(original)).toBe(true)
    }
    expect(current.sharesBaseWith(original)).toBe(false)
    expect(current.size).toBe(6_100)
    expect(current.get('new3099')).toBe(3099)
    expect(current.get('k2999')).toBe(2999)
    expect(original.size).toBe(3_000)
    expect(original.has('new0')).toBe(false)
  })

  it('reads as a plain map through thousands of derivations, sets and removals across every fold', () => {
    // a fixed linear congruential sequence: the same keys and operations on every run
    let state = 42
    const next = (bound: number): number => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
      return state % bound
    }
    const model = new Map(Array.from({ length: 2_000 }, (_, index) => [`k${index}`, index]))
    let current = LayeredMap.from(new Map(model))
    const history: Array<[LayeredMap<string, number>, Array<[string, number]>]> = []
    for (let step = 0; step < 6_000; step++) {
      const edit = current.edit()
      for (let write = 0, writes = 1 + next(3); write < writes; write++) {
        const key = `k${next(4_000)}`
        if (next(2) === 0) {
          edit.set(key, step)
          model.set(key, step)
        } else {
          edit.delete(key)
          model.delete(key)
        }
        expect(edit.get(key)).toBe(model.get(key))
      }
      current = edit.commit()
      if (step % 500 === 0) history.push([current, [...model].sort()])
    }
    for (const [map, entries] of [...history, [current, [...model].sort()] as const]) {
      expect([...map].sort()).toEqual(entries)
      expect(map.size).toBe(entries.length)
    }
    for (let index = 0; index < 4_000; index++) expect(current.get(`k${index}`)).toBe(model.get(`k${index}`))
  })
})
