// A partner's team: its portal users and pending invitations, shared by the partner admins'
// routes and the operator's. A partner always keeps an admin, checked under a lock on the
// partner's row so that two admins demoting each other at once cannot both succeed.
import type { FastifyInstance } from 'fastify'
import { ConflictError, LastPartnerAdminError, NotFoundError } from '../../domain/errors.js'
import type { Transaction } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'
import type { Delivery } from './mailer.js'
import { INVITATION_TTL_MS, invitationMail, type PartnerRole } from './mail-templates.js'
import { issueInvitation } from './one-time-links.js'

export function memberView (user: { id: string, email: string, name: string | null, role: string, emailVerifiedAt: Date | null, createdAt: Date, lastLoginAt: Date | null }) {
  return { id: user.id, email: user.email, name: user.name, role: user.role as PartnerRole, emailVerified: user.emailVerifiedAt !== null, createdAt: user.createdAt, lastLoginAt: user.lastLoginAt }
}

export function invitationView (invitation: { id: string, email: string, role: string, createdAt: Date, expiresAt: Date }) {
  return { id: invitation.id, email: invitation.email, role: invitation.role as PartnerRole, createdAt: invitation.createdAt, expiresAt: invitation.expiresAt, expired: invitation.expiresAt.getTime() <= Date.now() }
}

export async function readTeam (prisma: PrismaClient, partnerId: string) {
  const [members, invitations] = await Promise.all([
    prisma.partnerUser.findMany({ where: { partnerId }, orderBy: { createdAt: 'asc' } }),
    prisma.partnerInvitation.findMany({ where: { partnerId }, orderBy: { createdAt: 'asc' } })
  ])
  return { members: members.map(memberView), invitations: invitations.map(invitationView) }
}

/** Invites `email` to the partner (or renews its pending invitation) and mails the link. */
export async function invite (fastify: FastifyInstance, actor: string, request: { partnerId: string, email: string, role: PartnerRole }) {
  const email = request.email.trim().toLowerCase()
  const { invitation, token, partnerName } = await fastify.configWriter.write(actor, async ({ tx, audit }) => {
    const partner = await tx.partner.findUnique({ where: { id: request.partnerId } })
    if (partner === null) throw new NotFoundError(`Partner ${request.partnerId} does not exist`)
    if (await tx.partnerUser.findUnique({ where: { email } }) !== null) throw new ConflictError(`${email} has a portal account already`)
    const issued = await issueInvitation(tx, { partnerId: partner.id, email, role: request.role, invitedBy: actor, ttlMs: INVITATION_TTL_MS })
    audit({ action: 'partner-user.invite', targetType: 'partner', targetId: partner.id, details: { email, role: request.role, invitationId: issued.id } })
    const row = await tx.partnerInvitation.findUniqueOrThrow({ where: { id: issued.id } })
    return { invitation: row, token: issued.token, partnerName: partner.name }
  })
  const delivery: Delivery | 'failed' = await fastify.deliverMail(invitationMail({ to: email, partnerName, role: request.role, link: fastify.portalLink('accept-invitation', token) }))
  return { ...invitationView(invitation), delivery }
}

async function lockPartner (tx: Transaction, partnerId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM "Partner" WHERE id = ${partnerId}::uuid FOR UPDATE`
}

/** Throws LAST_PARTNER_ADMIN unless an admin other than `userId` remains. */
export async function assertAnotherAdmin (tx: Transaction, partnerId: string, userId: string): Promise<void> {
  await lockPartner(tx, partnerId)
  const others = await tx.partnerUser.count({ where: { partnerId, role: 'admin', id: { not: userId } } })
  if (others === 0) throw new LastPartnerAdminError()
}
