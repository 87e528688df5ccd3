// The node registry: one entry per gateway process, rewritten by the node at every report and
// read by the control plane (/admin/v1/nodes, /admin/v1/overview). Kept in Redis when Redis is
// configured (the hash <prefix>node-registry, written every few seconds by every node, never
// touching PostgreSQL; gateway-membership.ts's <prefix>gateway-nodes is another thing),
// otherwise in the database's GatewayNode table.
import type { NodeStats } from '../observability/node-stats.js'
import type { PrismaClient } from './db.js'
import type { RedisConnection } from './redis.js'

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

export interface NodeRegistry {
  write: (report: NodeReport) => Promise<void>
  markStopped: (id: string, at: Date) => Promise<void>
  /** deletes the entries of nodes silent for FORGET_NODES_AFTER_MS */
  forgetSilent: (now: Date) => Promise<void>
  read: () => Promise<RegisteredNode[]>
}

/** A day of history for nodes that died, then they are forgotten. */
export const FORGET_NODES_AFTER_MS = 24 * 3600_000

function byHostThenStart (left: RegisteredNode, right: RegisteredNode): number {
  return left.hostname.localeCompare(right.hostname) || left.startedAt.getTime() - right.startedAt.getTime()
}

export class DatabaseNodeRegistry implements NodeRegistry {
  readonly #prisma: PrismaClient

  constructor (prisma: PrismaClient) {
    this.#prisma = prisma
  }

  // one statement, no transaction: a report must never hold a connection the usage flush needs
  async write (report: NodeReport): Promise<void> {
    await this.#prisma.$executeRaw`
      INSERT INTO "GatewayNode" ("id", "hostname", "pid", "version", "startedAt", "reportedAt", "stoppedAt", "configVersion", "snapshotAgeSeconds", "stats")
      VALUES (${report.id}::uuid, ${report.hostname}, ${report.pid}, ${report.version}, ${report.startedAt}, ${report.reportedAt}, NULL, ${report.configVersion}, ${report.snapshotAgeSeconds}, ${JSON.stringify(report.stats)}::jsonb)
      ON CONFLICT ("id") DO UPDATE SET "reportedAt" = EXCLUDED."reportedAt", "stoppedAt" = NULL, "configVersion" = EXCLUDED."configVersion",
        "snapshotAgeSeconds" = EXCLUDED."snapshotAgeSeconds", "stats" = EXCLUDED."stats"`
  }

  async markStopped (id: string, at: Date): Promise<void> {
    await this.#prisma.gatewayNode.updateMany({ where: { id }, data: { stoppedAt: at } })
  }

  async forgetSilent (now: Date): Promise<void> {
    await this.#prisma.gatewayNode.deleteMany({ where: { reportedAt: { lt: new Date(now.getTime() - FORGET_NODES_AFTER_MS) } } })
  }

  async read (): Promise<RegisteredNode[]> {
    const rows = await this.#prisma.gatewayNode.findMany()
    return rows.map(row => ({ ...row, stats: row.stats as unknown as NodeStats })).sort(byHostThenStart)
  }
}

/** How an entry is kept in the Redis hash: JSON, with the bigint and dates as strings. */
interface StoredNode extends Omit<RegisteredNode, 'configVersion' | 'startedAt' | 'reportedAt' | 'stoppedAt'> {
  configVersion: string
  startedAt: string
  reportedAt: string
  stoppedAt: string | null
}

function toStored (node: RegisteredNode): string {
  const stored: StoredNode = { ...node, configVersion: node.configVersion.toString(), startedAt: node.startedAt.toISOString(), reportedAt: node.reportedAt.toISOString(), stoppedAt: node.stoppedAt?.toISOString() ?? null }
  return JSON.stringify(stored)
}

function fromStored (text: string): RegisteredNode {
  const stored = JSON.parse(text) as StoredNode
  return { ...stored, configVersion: BigInt(stored.configVersion), startedAt: new Date(stored.startedAt), reportedAt: new Date(stored.reportedAt), stoppedAt: stored.stoppedAt === null ? null : new Date(stored.stoppedAt) }
}

export class RedisNodeRegistry implements NodeRegistry {
  readonly #redis: RedisConnection
  readonly #key: string

  constructor (redis: RedisConnection, keyPrefix: string) {
    this.#redis = redis
    this.#key = `${keyPrefix}node-registry`
  }

  async write (report: NodeReport): Promise<void> {
    await this.#redis.hset(this.#key, report.id, toStored({ ...report, stoppedAt: null }))
  }

  async markStopped (id: string, at: Date): Promise<void> {
    const text = await this.#redis.hget(this.#key, id)
    if (text !== null) await this.#redis.hset(this.#key, id, toStored({ ...fromStored(text), stoppedAt: at }))
  }

  async forgetSilent (now: Date): Promise<void> {
    const silent = (await this.read()).filter(node => node.reportedAt.getTime() < now.getTime() - FORGET_NODES_AFTER_MS)
    if (silent.length > 0) await this.#redis.hdel(this.#key, ...silent.map(node => node.id))
  }

  async read (): Promise<RegisteredNode[]> {
    return Object.values(await this.#redis.hgetall(this.#key)).map(fromStored).sort(byHostThenStart)
  }
}
