// Operator accounts for the console: email + password, role admin (may change everything)
// or viewer (may read everything). The first admin comes from the CLI, later ones from admins.
import { randomBytes } from 'node:crypto'
import type { ConfigWriter } from '../../store/config-writer.js'
import { ConflictError } from '../../domain/errors.js'
import { hashPassword } from './passwords.js'

export const OPERATOR_ROLES = ['admin', 'viewer'] as const
export type OperatorRole = typeof OPERATOR_ROLES[number]

/** What an operator's role may do, in the terms of operator token scopes (src/control/plugins/operator-auth.ts). */
export function scopesOfRole (role: string): string[] {
  return role === 'admin' ? ['admin'] : ['read']
}

export interface OperatorAccount {
  id: string
  email: string
  role: OperatorRole
  createdAt: Date
  lastLoginAt: Date | null
}

export function normalizeEmail (email: string): string {
  return email.trim().toLowerCase()
}

/** 20 random bytes: strong enough to hand out, short enough to type once. */
export function generatePassword (): string {
  return randomBytes(20).toString('base64url')
}

export async function createOperator (writer: ConfigWriter, actor: string, input: { email: string, role: OperatorRole, password: string }): Promise<OperatorAccount> {
  const email = normalizeEmail(input.email)
  const passwordHash = await hashPassword(input.password)
  return await writer.write(actor, async ({ tx, audit }) => {
    if (await tx.operator.findUnique({ where: { email } }) !== null) throw new ConflictError(`An operator with the email ${email} already exists`)
    const created = await tx.operator.create({ data: { email, role: input.role, passwordHash } })
    audit({ action: 'operator.create', targetType: 'operator', targetId: created.id, details: { email, role: input.role } })
    return toAccount(created)
  })
}

export function toAccount (row: { id: string, email: string, role: string, createdAt: Date, lastLoginAt: Date | null }): OperatorAccount {
  return { id: row.id, email: row.email, role: row.role as OperatorRole, createdAt: row.createdAt, lastLoginAt: row.lastLoginAt }
}
