// Issuing and redeeming the one-time links of portal accounts. A user's newer link of one
// purpose replaces the older one; redeeming deletes the row in the same transaction as the
// change it allows, and only the caller whose delete removed the row may go on, so two
// requests racing with one link cannot both use it.
import { InvalidLinkError } from '../../domain/errors.js'
import { formatToken, newVerifier, parseToken, verifierMatches } from '../../domain/one-time-token.js'
import type { Transaction } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'
import type { PartnerRole } from './mail-templates.js'

export type UserTokenPurpose = 'password-reset' | 'email-verification'

export async function issueUserToken (tx: Transaction, userId: string, purpose: UserTokenPurpose, ttlMs: number): Promise<string> {
  await tx.partnerUserToken.deleteMany({ where: { userId, purpose } })
  const { verifier, verifierHash } = newVerifier()
  const row = await tx.partnerUserToken.create({ data: { userId, purpose, verifierHash, expiresAt: new Date(Date.now() + ttlMs) } })
  return formatToken(row.id, verifier)
}

/** When the user's last link of this purpose was made, to space out mails asked for in a loop. */
export async function lastUserTokenAt (prisma: PrismaClient | Transaction, userId: string, purpose: UserTokenPurpose): Promise<Date | undefined> {
  const row = await prisma.partnerUserToken.findFirst({ where: { userId, purpose }, orderBy: { createdAt: 'desc' }, select: { createdAt: true } })
  return row?.createdAt
}

/** The user the link was made for; the link is used up. Throws INVALID_LINK otherwise. */
export async function redeemUserToken (tx: Transaction, token: string, purpose: UserTokenPurpose): Promise<string> {
  const parsed = parseToken(token)
  if (parsed === undefined) throw new InvalidLinkError()
  const row = await tx.partnerUserToken.findUnique({ where: { id: parsed.id } })
  if (row === null || row.purpose !== purpose || !verifierMatches(parsed.verifier, row.verifierHash)) throw new InvalidLinkError()
  const { count } = await tx.partnerUserToken.deleteMany({ where: { id: row.id, verifierHash: row.verifierHash } })
  if (count !== 1 || row.expiresAt.getTime() <= Date.now()) throw new InvalidLinkError()
  return row.userId
}

export interface InvitationRequest {
  partnerId: string
  email: string
  role: PartnerRole
  invitedBy: string
  ttlMs: number
}

/** Creates the invitation, or renews the pending one for the same email with a new link. */
export async function issueInvitation (tx: Transaction, request: InvitationRequest): Promise<{ id: string, token: string, expiresAt: Date }> {
  const { verifier, verifierHash } = newVerifier()
  const expiresAt = new Date(Date.now() + request.ttlMs)
  const fields = { role: request.role, verifierHash, invitedBy: request.invitedBy, expiresAt, createdAt: new Date() }
  const row = await tx.partnerInvitation.upsert({
    where: { partnerId_email: { partnerId: request.partnerId, email: request.email } },
    create: { partnerId: request.partnerId, email: request.email, ...fields },
    update: fields
  })
  return { id: row.id, token: formatToken(row.id, verifier), expiresAt }
}

export async function findInvitation (prisma: PrismaClient | Transaction, token: string) {
  const parsed = parseToken(token)
  if (parsed === undefined) throw new InvalidLinkError()
  const row = await prisma.partnerInvitation.findUnique({ where: { id: parsed.id }, include: { partner: { select: { id: true, name: true, status: true } } } })
  if (row === null || !verifierMatches(parsed.verifier, row.verifierHash) || row.expiresAt.getTime() <= Date.now()) throw new InvalidLinkError()
  return row
}

/** The invitation the link belongs to, deleted: it cannot be accepted twice. */
export async function redeemInvitation (tx: Transaction, token: string) {
  const invitation = await findInvitation(tx, token)
  const { count } = await tx.partnerInvitation.deleteMany({ where: { id: invitation.id, verifierHash: invitation.verifierHash } })
  if (count !== 1) throw new InvalidLinkError()
  return invitation
}
