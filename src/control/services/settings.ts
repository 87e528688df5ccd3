// Operator settings kept in the Setting table (key → JSON value), read by the partner API.
import type { PrismaClient } from '../../store/db.js'
import type { Transaction } from '../../store/config-writer.js'

export interface Settings {
  /** new portal sign-ups wait for an operator (REQUIRE_PARTNER_APPROVAL also forces it) */
  requirePartnerApproval: boolean
  /** the gateway's base URL as partners reach it, used in the portal's code snippets */
  gatewayUrl: string | null
  /** the origin the portal is served from, which APIs with cors.portal allow (read by the gateway's snapshot) */
  portalOrigin: string | null
}

export const SETTING_DEFAULTS: Settings = { requirePartnerApproval: false, gatewayUrl: null, portalOrigin: null }

export async function readSettings (prisma: PrismaClient | Transaction): Promise<Settings> {
  const rows = await prisma.setting.findMany({ where: { key: { in: Object.keys(SETTING_DEFAULTS) } } })
  const settings: Settings = { ...SETTING_DEFAULTS }
  for (const row of rows) {
    if (row.key === 'requirePartnerApproval' && typeof row.value === 'boolean') settings.requirePartnerApproval = row.value
    if (row.key === 'gatewayUrl' && (typeof row.value === 'string' || row.value === null)) settings.gatewayUrl = row.value
    if (row.key === 'portalOrigin' && typeof row.value === 'string') settings.portalOrigin = row.value
  }
  return settings
}

export async function writeSettings (tx: Transaction, changes: Partial<Settings>): Promise<void> {
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue
    // a JSON null column value needs Prisma.JsonNull; an absent row means the default just as well
    if (value === null) {
      await tx.setting.deleteMany({ where: { key } })
      continue
    }
    await tx.setting.upsert({ where: { key }, create: { key, value: value as never }, update: { value: value as never } })
  }
}
