// The embedded database started from a dump: an in-memory PGlite that begins as a copy of
// another database's files, instead of running initdb.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../../src/store/db.js'
import { createTestDatabase } from '../../helpers/database.js'

describe('an in-memory embedded database started from a dump', () => {
  it('holds the rows and the applied migrations of the dumped database, as a copy of its own', async () => {
    const source = await createTestDatabase('pglite')
    let dump: Buffer
    try {
      await source.prisma.partner.create({ data: { name: 'Dumped Co' } })
      dump = await (source.dumpDataDir as () => Promise<Buffer>)()
      await source.prisma.partner.create({ data: { name: 'After the dump' } })
    } finally {
      await source.drop()
    }
    const copy = await openDatabase({ fromDump: dump })
    try {
      expect(await copy.migrate()).toEqual([])
      expect((await copy.prisma.partner.findMany()).map(partner => partner.name)).toEqual(['Dumped Co'])
      await copy.prisma.partner.create({ data: { name: 'Written to the copy' } })
    } finally {
      await copy.close()
    }
    const second = await openDatabase({ fromDump: dump })
    try {
      expect((await second.prisma.partner.findMany()).map(partner => partner.name)).toEqual(['Dumped Co'])
    } finally {
      await second.close()
    }
  })

  it('refuses a dump for a DATA_DIR, which restoreDataDir fills, and leaves the directory untouched', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-from-dump-'))
    try {
      await expect(openDatabase({ dataDir, fromDump: Buffer.alloc(0) })).rejects.toThrow('restoreDataDir fills a DATA_DIR')
      expect(readdirSync(dataDir)).toEqual([])
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
