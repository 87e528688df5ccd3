// Every control-plane write goes through here: one transaction that applies the change,
// records it in the audit log and bumps the configuration version — so nothing is ever
// half-written — then, after commit, tells the gateways about the new version.
import type { ChangeBus } from './change-bus.js'
import type { Prisma, PrismaClient } from './db.js'

export type Transaction = Prisma.TransactionClient

export interface AuditEntry {
  action: string
  targetType: string
  targetId?: string | null
  details?: Prisma.InputJsonValue
}

export interface ChangeContext {
  tx: Transaction
  audit: (entry: AuditEntry) => void
}

export class ConfigWriter {
  readonly #prisma: PrismaClient
  readonly #bus: ChangeBus

  constructor (prisma: PrismaClient, bus: ChangeBus) {
    this.#prisma = prisma
    this.#bus = bus
  }

  /** Runs `change` in a transaction on behalf of `actor`; audited and versioned. */
  async write<T> (actor: string, change: (context: ChangeContext) => Promise<T>): Promise<T> {
    const entries: AuditEntry[] = []
    const { result, version } = await this.#prisma.$transaction(async tx => {
      const result = await change({ tx, audit: entry => { entries.push(entry) } })
      // a write that changed nothing worth auditing changed nothing the gateways read
      if (entries.length === 0) return { result, version: undefined }
      const state = await tx.configState.update({ where: { id: 1 }, data: { version: { increment: 1 } } })
      // each entry names the version it produced: gateways reload only what the entries name
      await tx.auditLog.createMany({
        data: entries.map(entry => ({ actor, action: entry.action, targetType: entry.targetType, targetId: entry.targetId ?? null, details: entry.details, configVersion: state.version }))
      })
      return { result, version: state.version }
    })
    if (version === undefined) return result
    await this.#bus.publish(version).catch(() => {
      // gateways also poll the version, so a lost event only delays propagation
    })
    return result
  }

  async currentVersion (): Promise<bigint> {
    const state = await this.#prisma.configState.findUniqueOrThrow({ where: { id: 1 } })
    return state.version
  }
}
