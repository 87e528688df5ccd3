import { describe, expect, it } from 'vitest'
import { formatSummary, shortLocation, summariseProfile, type CpuProfile } from '../../../bench/profile-summary.js'

const frame = (functionName: string, url = 'file:///repo/dist/gateway/app.js', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 })

// (root) → handle → hash, handle → handle (recursion) ; (root) → (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
    { id: 2, callFrame: frame('handle', undefined, 9), children: [3, 4] },
    { id: 3, callFrame: frame('hash', 'node:internal/crypto/hash', 87) },
    { id: 4, callFrame: frame('handle', undefined, 9) },
    { id: 5, callFrame: frame('(idle)', '') }
  ],
  startTime: 1000,
  endTime: 2000,
  // at 1100 hash, 1200 handle (recursive), 1300 hash, 1600 idle, 1700 handle (the last sample has no duration)
  samples: [3, 4, 3, 5, 2],
  timeDeltas: [100, 100, 100, 300, 100]
}

describe('summariseProfile', () => {
  it('attributes each sample the time until the next one, as self time of its function', () => {
    const summary = summariseProfile(profile)
    const hash = summary.functions.find(function_ => function_.name === 'hash')
    expect(hash?.selfMicros).toBe(100 + 300)
    expect(summary.idleMicros).toBe(100)
    expect(summary.sampledMicros).toBe(600)
  })

  it('counts a recursive function once per sample in its inclusive time', () => {
    const handle = summariseProfile(profile).functions.find(function_ => function_.name === 'handle')
    expect(handle?.selfMicros).toBe(100)
    expect(handle?.totalMicros).toBe(100 + 100 + 300)
  })

  it('keeps only the samples inside the window', () => {
    const summary = summariseProfile(profile, { from: 1150, to: 1650 })
    expect(summary.samples).toBe(3)
    expect(summary.functions.find(function_ => function_.name === 'hash')?.selfMicros).toBe(300)
  })

  it('names who called a function while it ran', () => {
    const hash = summariseProfile(profile).functions.find(function_ => function_.name === 'hash')
    expect(hash?.callers).toEqual([{ name: 'handle', location: 'dist/gateway/app.js:10:1', selfMicros: 400 }])
  })

  it('ranks by self time in the text, leaving out idle time', () => {
    const text = formatSummary(summariseProfile(profile), 2)
    const selfTable = text.split('Top 2 functions by self time')[1]
    expect(selfTable.split('\n')[2]).toContain('hash')
    expect(text).not.toMatch(/^\s+\d+\s.*\(idle\)/m)
  })
})

describe('shortLocation', () => {
  it('shortens package and build paths to what names them', () => {
    expect(shortLocation(frame('route', 'file:///work/node_modules/fastify/lib/route.js', 4))).toBe('fastify/lib/route.js:5:1')
    expect(shortLocation(frame('handle', 'file:///work/wt/x/dist/gateway/app.js', 117))).toBe('dist/gateway/app.js:118:1')
    expect(shortLocation(frame('writev', ''))).toBe('')
  })
})
