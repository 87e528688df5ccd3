// Cursor pagination over uuid v7 ids, which sort by creation time: the cursor is the
// last id of the previous page, opaque to clients.
import { Type, type Static } from 'typebox'
import { InvalidCursorError } from '../domain/errors.js'

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
})
export type PageQuery = Static<typeof PageQuery>

export function pageOf<T extends Type.TSchema> (item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function decodeCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!UUID.test(id)) throw new InvalidCursorError()
  return id
}

/** Prisma findMany arguments for one page, ordered by id. */
export function pageArguments (query: PageQuery): { take: number, orderBy: { id: 'asc' }, where?: { id: { gt: string } } } {
  const after = decodeCursor(query.cursor)
  return { take: query.limit + 1, orderBy: { id: 'asc' }, ...(after !== undefined ? { where: { id: { gt: after } } } : {}) }
}

export function toPage<T extends { id: string }, R> (rows: T[], limit: number, map: (row: T) => R): { items: R[], nextCursor: string | null } {
  const hasMore = rows.length > limit
  const page = hasMore ? rows.slice(0, limit) : rows
  return {
    items: page.map(map),
    nextCursor: hasMore ? Buffer.from(page[page.length - 1].id, 'utf8').toString('base64url') : null
  }
}
