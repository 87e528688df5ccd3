// Operator tokens: shown once, stored only as a SHA-256 hash.
import { randomToken, sha256Hex } from '../../domain/crypto.js'
import { OPERATOR_TOKEN_PREFIX } from '../../domain/credentials.js'
import type { ConfigWriter } from '../../store/config-writer.js'

export type OperatorScope = 'admin' | 'read'

/**
 * Creates an operator token and returns it, the only time it is ever shown. Takes the
 * ConfigWriter rather than a bare PrismaClient so that a token made by the CLI is audited
 * (under `actor`, e.g. "cli") in the same transaction as any token made through the API.
 */
export async function createAdminToken (writer: ConfigWriter, actor: string, name: string, scopes: OperatorScope[]): Promise<{ id: string, name: string, scopes: string[], token: string, createdAt: Date }> {
  const token = randomToken(OPERATOR_TOKEN_PREFIX, 32)
  return await writer.write(actor, async ({ tx, audit }) => {
    const created = await tx.adminToken.create({ data: { name, scopes, tokenHash: sha256Hex(token) } })
    audit({ action: 'admin-token.create', targetType: 'admin-token', targetId: created.id, details: { name, scopes } })
    return { id: created.id, name: created.name, scopes: created.scopes, token, createdAt: created.createdAt }
  })
}
