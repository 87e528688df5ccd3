import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeJsonInSlices } from '../../../../src/gateway/snapshot/json-slices.js'

describe('writeJsonInSlices', () => {
  it('writes what JSON.stringify writes, for empty, small and many-slice arrays', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'pgw-json-'))
    try {
      const data = { version: '7', loadedAt: 12, empty: [], one: [{ a: 'x"y' }], many: Array.from({ length: 4_321 }, (_, index) => ({ id: index, name: `n${index}` })), nested: { a: [1, 2] } }
      const file = path.join(directory, 'out.json')
      await writeJsonInSlices(file, data)
      expect(readFileSync(file, 'utf8')).toBe(JSON.stringify(data))
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })

  it('writes iterables as arrays, read a slice at a time, and leaves out undefined properties', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'pgw-json-'))
    try {
      const records = Array.from({ length: 4_321 }, (_, index) => ({ id: index }))
      const file = path.join(directory, 'out.json')
      await writeJsonInSlices(file, { version: '7', portalOrigin: undefined, apps: records.values(), none: new Set() })
      expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ version: '7', apps: records, none: [] }))
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
