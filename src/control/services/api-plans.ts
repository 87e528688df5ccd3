// The plan ids each API offers. Read with a cast to text[]: the embedded database's Prisma
// adapter cannot decode uuid[] columns (UnsupportedNativeDataType), PostgreSQL's can.
import type { Transaction } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'

export async function readApiPlanIds (prisma: PrismaClient | Transaction, apiIds?: string[]): Promise<Map<string, string[]>> {
  const rows = apiIds === undefined
    ? await prisma.$queryRaw<Array<{ id: string, planIds: string[] }>>`SELECT "id"::text AS "id", "planIds"::text[] AS "planIds" FROM "Api"`
    : await prisma.$queryRaw<Array<{ id: string, planIds: string[] }>>`SELECT "id"::text AS "id", "planIds"::text[] AS "planIds" FROM "Api" WHERE "id"::text = ANY(${apiIds}::text[])`
  return new Map(rows.map(row => [row.id, row.planIds ?? []]))
}
