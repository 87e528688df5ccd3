// The node registry in the database: one row per gateway process, rewritten by the node at
// every report and read by the control plane (/admin/v1/nodes, /admin/v1/overview).
import type { NodeStats } from '../observability/node-stats.js'
import type { Prisma, PrismaClient } from './db.js'

export interface NodeIdentity {
  id: string
  hostname: string
  pid: number
  version: string
  startedAt: Date
}

export interface NodeReport extends NodeIdentity {
  reportedAt: Date
  configVersion: bigint
  snapshotAgeSeconds: number
  stats: NodeStats
}

export interface RegisteredNode extends NodeReport {
  stoppedAt: Date | null
}

/** Rows of nodes silent for this long are deleted: a day of history for nodes that died. */
export const FORGET_NODES_AFTER_MS = 24 * 3600_000

export async function writeNodeReport (prisma: PrismaClient, report: NodeReport): Promise<void> {
  const { id, ...fields } = report
  const data = { ...fields, stats: report.stats as unknown as Prisma.InputJsonObject, stoppedAt: null }
  await prisma.gatewayNode.upsert({ where: { id }, create: { id, ...data }, update: data })
}

export async function markNodeStopped (prisma: PrismaClient, id: string, at: Date): Promise<void> {
  await prisma.gatewayNode.updateMany({ where: { id }, data: { stoppedAt: at } })
}

export async function forgetSilentNodes (prisma: PrismaClient, now: Date): Promise<void> {
  await prisma.gatewayNode.deleteMany({ where: { reportedAt: { lt: new Date(now.getTime() - FORGET_NODES_AFTER_MS) } } })
}

export async function readNodes (prisma: PrismaClient): Promise<RegisteredNode[]> {
  const rows = await prisma.gatewayNode.findMany({ orderBy: [{ hostname: 'asc' }, { startedAt: 'asc' }] })
  return rows.map(row => ({ ...row, stats: row.stats as unknown as NodeStats }))
}
