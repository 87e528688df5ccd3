import { describe, expect, it } from 'vitest'
import { formatBatchLine, formatDeltaLine, formatJournalFileName, formatSettledJournal, parseJournal, parseJournalFileName, sumUsage, type UsageDelta } from '../../../../src/gateway/usage/usage-journal.js'

const APP = '0190b3c4-1111-7000-8000-000000000001'
const API = '0190b3c4-2222-7000-8000-000000000002'
const OTHER_API = '0190b3c4-2222-7000-8000-000000000003'
const BATCH_A = '3f0c6f6e-7a51-4c1e-9a53-0c3c1d1e0a01'
const BATCH_B = '3f0c6f6e-7a51-4c1e-9a53-0c3c1d1e0a02'

function delta (calls: number, rejected = 0, apiId = API, day = '2026-11-25'): UsageDelta {
  return { appId: APP, apiId, day, calls, rejected }
}

describe('usage journal format', () => {
  it('sums delta lines per app × API × day', () => {
    const parsed = parseJournal(formatDeltaLine([delta(3, 1)]) + formatDeltaLine([delta(2), delta(5, 0, OTHER_API)]) + formatDeltaLine([delta(1, 0, API, '2026-11-26')]))
    expect(parsed.batches).toEqual([])
    expect(parsed.skippedLines).toBe(0)
    expect(parsed.unbatched).toEqual([delta(5, 1), delta(5, 0, OTHER_API), delta(1, 0, API, '2026-11-26')])
  })

  it('gives each batch line the delta lines above it that no earlier batch covers', () => {
    const text = formatDeltaLine([delta(1)]) + formatDeltaLine([delta(2)]) + formatBatchLine(BATCH_A) +
      formatDeltaLine([delta(4)]) + formatBatchLine(BATCH_B) + formatDeltaLine([delta(8)])
    expect(parseJournal(text)).toEqual({
      batches: [{ id: BATCH_A, deltas: [delta(3)] }, { id: BATCH_B, deltas: [delta(4)] }],
      unbatched: [delta(8)],
      skippedLines: 0
    })
  })

  it('skips a last line torn by a kill in the middle of a write and keeps everything before it', () => {
    const whole = formatDeltaLine([delta(7)]) + formatBatchLine(BATCH_A) + formatDeltaLine([delta(2)])
    const torn = formatDeltaLine([delta(1000)])
    for (let cut = 1; cut < torn.length; cut++) {
      const parsed = parseJournal(whole + torn.slice(0, cut))
      expect(parsed.batches, `cut at ${cut}`).toEqual([{ id: BATCH_A, deltas: [delta(7)] }])
      expect(parsed.unbatched).toEqual([delta(2)])
      expect(parsed.skippedLines).toBe(1)
    }
  })

  it('skips damaged lines: bad JSON, ids that are not UUIDs, negative or fractional counts', () => {
    const damaged = [
      '{"d":[["not-a-uuid","' + API + '","2026-11-25",1,0]]}',
      '{"d":[["' + APP + '","' + API + '","2026-11-25",-1,0]]}',
      '{"d":[["' + APP + '","' + API + '","2026-11-25",1.5,0]]}',
      '{"d":[["' + APP + '","' + API + '","25.11.2026",1,0]]}',
      '{"b":"not-a-uuid"}',
      '{"d":',
      ''
    ].map(line => line + '\n').join('')
    const parsed = parseJournal(formatDeltaLine([delta(1)]) + damaged + formatDeltaLine([delta(2)]))
    expect(parsed.unbatched).toEqual([delta(3)])
    expect(parsed.skippedLines).toBe(7)
  })

  it('ignores a batch line with nothing above it to cover', () => {
    const parsed = parseJournal(formatBatchLine(BATCH_A) + formatDeltaLine([delta(1)]) + formatBatchLine(BATCH_B) + formatBatchLine(BATCH_A))
    expect(parsed.batches).toEqual([{ id: BATCH_B, deltas: [delta(1)] }])
  })

  it('settles a journal by giving the unbatched deltas a new batch, saying the same counts', () => {
    const parsed = parseJournal(formatDeltaLine([delta(1)]) + formatBatchLine(BATCH_A) + formatDeltaLine([delta(2)]) + formatDeltaLine([delta(3, 1)]))
    const settled = parseJournal(formatSettledJournal(parsed, BATCH_B))
    expect(settled).toEqual({ batches: [{ id: BATCH_A, deltas: [delta(1)] }, { id: BATCH_B, deltas: [delta(5, 1)] }], unbatched: [], skippedLines: 0 })
  })

  it('sums deltas of one key into one total', () => {
    expect([...sumUsage([delta(1, 2), delta(3, 4)]).values()]).toEqual([delta(4, 6)])
  })
})

describe('usage journal file names', () => {
  it('round-trips the owner and the claim', () => {
    const owner = { pid: 4242, start: 'p1a2b3', instance: '0badcafe' }
    expect(formatJournalFileName({ owner })).toBe('4242-p1a2b3-0badcafe.log')
    expect(parseJournalFileName('4242-p1a2b3-0badcafe.log')).toEqual({ owner })
    expect(parseJournalFileName(formatJournalFileName({ owner, claim: '00ff' }))).toEqual({ owner, claim: '00ff' })
  })

  it('refuses names that are not journals, and pid 0 (which would signal a process group)', () => {
    for (const name of ['4242-p1a2b3-0badcafe.log.tmp', '0-p1-ab.log', '-1-p1-ab.log', 'x-p1-ab.log', '4242-q1-ab.log', 'snapshot-cache.json', '4242-p1-AB.log']) {
      expect(parseJournalFileName(name), name).toBeUndefined()
    }
  })
})
