import { describe, expect, it } from 'vitest'
import { selectTargets } from '../../../../src/gateway/proxy/target-selection.js'

function select (available: boolean[], excluded = -1): { panic: boolean, selectable: boolean[] } {
  const selectable = [...available]
  const panic = selectTargets(selectable, excluded)
  return { panic, selectable }
}

describe('selectTargets', () => {
  it('keeps to the available targets while at least half of them are', () => {
    expect(select([true, false])).toEqual({ panic: false, selectable: [true, false] })
    expect(select([true, true, false, false])).toEqual({ panic: false, selectable: [true, true, false, false] })
  })

  it('balances over every target when fewer than half are available', () => {
    expect(select([true, false, false])).toEqual({ panic: true, selectable: [true, true, true] })
  })

  it('never leaves an upstream without a target: its only one stays in use when ejected', () => {
    expect(select([false])).toEqual({ panic: true, selectable: [true] })
  })

  it('sends a retry to another target, or to the same one when it is the only choice', () => {
    expect(select([true, true], 0).selectable).toEqual([false, true])
    expect(select([true, false], 0).selectable).toEqual([true, false])
    expect(select([false], 0).selectable).toEqual([true])
    expect(select([false, false, true], 2).selectable).toEqual([true, true, false])
  })
})
