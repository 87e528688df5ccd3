// The plan ids each API offers to partners (an empty list offers every plan).
import type { Transaction } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'

export async function readApiPlanIds (prisma: PrismaClient | Transaction, apiIds?: string[]): Promise<Map<string, string[]>> {
  const rows = await prisma.api.findMany({ where: apiIds === undefined ? {} : { id: { in: apiIds } }, select: { id: true, planIds: true } })
  return new Map(rows.map(row => [row.id, row.planIds]))
}
