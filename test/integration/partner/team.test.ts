// Partner teams over real HTTP with mail through a local SMTP server: an operator invites a
// partner's first user, admins invite members, roles are enforced, and an admin always stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { linksIn, startSmtpCapture, type SmtpCapture } from '../../helpers/smtp-capture.js'
import { PortalClient } from './portal-client.js'

const PUBLIC_URL = 'https://partners.example.test'
const PASSWORD = 'correct horse battery'
let counter = 0
const unique = (label: string): string => `${label}-${Date.now().toString(36)}-${counter++}`

function tokenOf (link: string): string {
  const url = new URL(link)
  expect(url.hash).toMatch(/^#token=/)
  return url.hash.slice('#token='.length)
}

describe.each(DATABASE_KINDS)('partner teams on %s', kind => {
  let server: TestControlServer
  let smtp: SmtpCapture

  beforeAll(async () => {
    smtp = await startSmtpCapture({ user: 'mailer', password: 'smtp-secret' })
    server = await startControlServer(kind, { config: { publicUrl: PUBLIC_URL + '/', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpUser: 'mailer', smtpPassword: 'smtp-secret', mailFrom: 'Portal <portal@example.test>' } })
  })
  afterAll(async () => {
    await server?.close()
    await smtp?.close()
  })

  async function invitationLink (email: string): Promise<string> {
    const mail = await smtp.waitFor(message => message.to.includes(email) && /invited/.test(message.subject))
    const link = linksIn(mail).find(candidate => candidate.includes('/portal/accept-invitation#token='))
    expect(link, mail.text).toBeDefined()
    smtp.messages.splice(smtp.messages.indexOf(mail), 1)
    return link as string
  }

  async function operatorPartnerWithAdmin (): Promise<{ partnerId: string, partnerName: string, admin: PortalClient, adminEmail: string }> {
    const partnerName = unique('Acme')
    const partner = await server.call('POST', '/admin/v1/partners', { name: partnerName })
    const adminEmail = `${unique('first')}@example.com`
    expect((await server.call('POST', `/admin/v1/partners/${partner.body.id as string}/invitations`, { email: adminEmail })).status).toBe(201)
    const admin = new PortalClient(server.url)
    const accepted = await admin.call('POST', '/partner/v1/invitations/accept', { token: tokenOf(await invitationLink(adminEmail)), name: 'First Admin', password: PASSWORD })
    expect(accepted.status).toBe(201)
    return { partnerId: partner.body.id, partnerName, admin, adminEmail }
  }

  async function join (admin: PortalClient, role: 'admin' | 'developer'): Promise<{ client: PortalClient, id: string, email: string }> {
    const email = `${unique(role)}@example.com`
    expect((await admin.call('POST', '/partner/v1/team/invitations', { email, role })).status).toBe(201)
    const client = new PortalClient(server.url)
    const accepted = await client.call('POST', '/partner/v1/invitations/accept', { token: tokenOf(await invitationLink(email)), name: `A ${role}`, password: PASSWORD })
    expect(accepted.status).toBe(201)
    return { client, id: accepted.body.user.id, email }
  }

  it('lets an operator-created partner get its first login: invite by mail, accept with name and password, log in again', async () => {
    const partnerName = unique('Operator Made')
    const partner = await server.call('POST', '/admin/v1/partners', { name: partnerName })
    // signing up with the company name is refused, and says how to get in instead
    const signup = await new PortalClient(server.url).signup(partnerName, `${unique('x')}@example.com`)
    expect(signup.status).toBe(409)
    expect(signup.body.error.message).toMatch(/invite/)

    const email = `${unique('Owner')}@Example.com`
    const invited = await server.call('POST', `/admin/v1/partners/${partner.body.id as string}/invitations`, { email })
    expect(invited.status, JSON.stringify(invited.body)).toBe(201)
    expect(invited.body).toMatchObject({ email: email.toLowerCase(), role: 'admin', delivery: 'sent', expired: false })
    expect(new Date(invited.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(6 * 86400_000)

    const mail = await smtp.waitFor(message => message.to.includes(email.toLowerCase()))
    expect(mail.user).toBe('mailer')
    expect(mail.from).toBe('Portal <portal@example.test>')
    expect(mail.subject).toBe(`You are invited to the ${partnerName} partner account`)
    const link = await invitationLink(email.toLowerCase())
    expect(link.startsWith(`${PUBLIC_URL}/portal/accept-invitation#token=`)).toBe(true)
    const token = tokenOf(link)
    const stored = await server.database.prisma.partnerInvitation.findUniqueOrThrow({ where: { id: invited.body.id } })
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1])

    const client = new PortalClient(server.url)
    expect((await client.call('POST', '/partner/v1/invitations/lookup', { token })).body).toMatchObject({ email: email.toLowerCase(), role: 'admin', partnerName })
    const accepted = await client.call('POST', '/partner/v1/invitations/accept', { token, name: 'Olga Owner', password: PASSWORD })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    expect(accepted.body.user).toMatchObject({ email: email.toLowerCase(), name: 'Olga Owner', role: 'admin', emailVerified: true })
    expect(accepted.body.partner).toMatchObject({ id: partner.body.id, name: partnerName, status: 'active' })
    expect((await client.call('POST', '/partner/v1/apps', { name: 'first-app' })).status).toBe(201)

    const again = await new PortalClient(server.url).call('POST', '/partner/v1/invitations/accept', { token, name: 'Mallory', password: PASSWORD })
    expect(again.body.error.code).toBe('INVALID_LINK')
    expect((await client.call('POST', '/partner/v1/logout')).status).toBe(204)
    expect((await client.login(email, PASSWORD)).status).toBe(200)

    const members = await server.call('GET', `/admin/v1/partners/${partner.body.id as string}/members`)
    expect(members.body).toMatchObject({ members: [{ email: email.toLowerCase(), name: 'Olga Owner', role: 'admin', emailVerified: true }], invitations: [] })
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${partner.body.id as string}`)
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toContain('partner-user.invite')
    expect(JSON.stringify(audit.body)).not.toContain(token.split('.')[1])
  })

  it('lets admins invite developers, who manage apps but get 403 for everything about the team', async () => {
    const { admin } = await operatorPartnerWithAdmin()
    const developer = await join(admin, 'developer')
    expect((await developer.client.call('GET', '/partner/v1/me')).body.user.role).toBe('developer')
    const app = await developer.client.call('POST', '/partner/v1/apps', { name: 'dev-app' })
    expect(app.status).toBe(201)
    expect((await developer.client.call('POST', `/partner/v1/apps/${app.body.id as string}/credentials`, {})).status).toBe(201)
    expect((await developer.client.call('GET', `/partner/v1/apps/${app.body.id as string}/usage`)).status).toBe(200)

    const team = await developer.client.call('GET', '/partner/v1/team')
    expect(team.status).toBe(200)
    expect(team.body.members.map((member: { role: string }) => member.role)).toEqual(['admin', 'developer'])
    const adminId = team.body.members[0].id as string
    for (const [method, path, body] of [
      ['POST', '/partner/v1/team/invitations', { email: `${unique('no')}@example.com`, role: 'developer' }],
      ['PATCH', `/partner/v1/team/members/${developer.id}`, { role: 'admin' }],
      ['PATCH', `/partner/v1/team/members/${adminId}`, { role: 'developer' }],
      ['DELETE', `/partner/v1/team/members/${adminId}`, undefined]
    ] as const) {
      const refused = await developer.client.call(method, path, body)
      expect({ status: refused.status, code: refused.body.error.code }, `${method} ${path}`).toEqual({ status: 403, code: 'PARTNER_ADMIN_REQUIRED' })
    }
    expect((await admin.call('GET', '/partner/v1/team')).body.members).toHaveLength(2)
  })

  it('changes roles and removes members, ending their sessions, but never the last admin', async () => {
    const { admin } = await operatorPartnerWithAdmin()
    const me = (await admin.call('GET', '/partner/v1/me')).body.user.id as string
    const alone = await admin.call('PATCH', `/partner/v1/team/members/${me}`, { role: 'developer' })
    expect({ status: alone.status, code: alone.body.error.code }).toEqual({ status: 409, code: 'LAST_PARTNER_ADMIN' })
    expect((await admin.call('DELETE', `/partner/v1/team/members/${me}`)).body.error.code).toBe('LAST_PARTNER_ADMIN')

    const second = await join(admin, 'developer')
    const promoted = await admin.call('PATCH', `/partner/v1/team/members/${second.id}`, { role: 'admin' })
    expect(promoted.body).toMatchObject({ id: second.id, role: 'admin' })
    // now another admin remains, so the first may step down, and the second can remove the first
    expect((await admin.call('PATCH', `/partner/v1/team/members/${me}`, { role: 'developer' })).body.role).toBe('developer')
    expect((await second.client.call('PATCH', `/partner/v1/team/members/${second.id}`, { role: 'developer' })).body.error.code).toBe('LAST_PARTNER_ADMIN')
    expect((await second.client.call('DELETE', `/partner/v1/team/members/${me}`)).status).toBe(204)
    expect((await admin.call('GET', '/partner/v1/me')).status).toBe(401)
    const team = await second.client.call('GET', '/partner/v1/team')
    expect(team.body.members).toMatchObject([{ id: second.id, role: 'admin' }])
  })

  it('keeps an admin when two admins demote each other at the same moment', async () => {
    const { admin } = await operatorPartnerWithAdmin()
    const first = (await admin.call('GET', '/partner/v1/me')).body.user.id as string
    const second = await join(admin, 'admin')
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        admin.call('PATCH', `/partner/v1/team/members/${second.id}`, { role: 'developer' }),
        second.client.call('PATCH', `/partner/v1/team/members/${first}`, { role: 'developer' })
      ])
      const admins = (await server.database.prisma.partnerUser.findMany({ where: { id: { in: [first, second.id] }, role: 'admin' } })).map(user => user.id)
      expect(admins.length, JSON.stringify(results.map(result => result.body))).toBeGreaterThanOrEqual(1)
      // whoever was demoted is promoted back by the admin that remains, for the next round
      const demoted = [first, second.id].filter(id => !admins.includes(id))
      const remaining = admins[0] === first ? admin : second.client
      for (const id of demoted) expect((await remaining.call('PATCH', `/partner/v1/team/members/${id}`, { role: 'admin' })).status).toBe(200)
    }
  })

  it('keeps one partner admin away from another partner\'s members and invitations', async () => {
    const alice = await operatorPartnerWithAdmin()
    const bob = await operatorPartnerWithAdmin()
    const bobTeam = await bob.admin.call('GET', '/partner/v1/team')
    const bobAdminId = bobTeam.body.members[0].id as string
    expect((await alice.admin.call('PATCH', `/partner/v1/team/members/${bobAdminId}`, { role: 'developer' })).status).toBe(404)
    expect((await alice.admin.call('DELETE', `/partner/v1/team/members/${bobAdminId}`)).status).toBe(404)
    const invited = await bob.admin.call('POST', '/partner/v1/team/invitations', { email: `${unique('pending')}@example.com`, role: 'developer' })
    expect((await alice.admin.call('DELETE', `/partner/v1/team/invitations/${invited.body.id as string}`)).status).toBe(404)
    expect((await alice.admin.call('GET', '/partner/v1/team')).body.invitations).toEqual([])
  })

  it('refuses invitation links that were replaced, withdrawn or expired, and emails that have an account', async () => {
    const { admin, adminEmail } = await operatorPartnerWithAdmin()
    const taken = await admin.call('POST', '/partner/v1/team/invitations', { email: adminEmail, role: 'developer' })
    expect({ status: taken.status, code: taken.body.error.code }).toEqual({ status: 409, code: 'CONFLICT' })

    const email = `${unique('renewed')}@example.com`
    await admin.call('POST', '/partner/v1/team/invitations', { email, role: 'developer' })
    const first = tokenOf(await invitationLink(email))
    const renewed = await admin.call('POST', '/partner/v1/team/invitations', { email, role: 'admin' })
    const second = tokenOf(await invitationLink(email))
    const visitor = new PortalClient(server.url)
    expect((await visitor.call('POST', '/partner/v1/invitations/lookup', { token: first })).body.error.code).toBe('INVALID_LINK')
    expect((await visitor.call('POST', '/partner/v1/invitations/lookup', { token: second })).body.role).toBe('admin')
    expect((await admin.call('GET', '/partner/v1/team')).body.invitations).toMatchObject([{ id: renewed.body.id, email, role: 'admin' }])

    expect((await admin.call('DELETE', `/partner/v1/team/invitations/${renewed.body.id as string}`)).status).toBe(204)
    expect((await visitor.call('POST', '/partner/v1/invitations/accept', { token: second, name: 'Late', password: PASSWORD })).body.error.code).toBe('INVALID_LINK')

    const expiring = `${unique('expiring')}@example.com`
    const invitation = await admin.call('POST', '/partner/v1/team/invitations', { email: expiring, role: 'developer' })
    const token = tokenOf(await invitationLink(expiring))
    await server.database.prisma.partnerInvitation.update({ where: { id: invitation.body.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
    expect((await admin.call('GET', '/partner/v1/team')).body.invitations[0].expired).toBe(true)
    expect((await visitor.call('POST', '/partner/v1/invitations/accept', { token, name: 'Late', password: PASSWORD })).body.error.code).toBe('INVALID_LINK')
    for (const forged of ['nonsense', `${invitation.body.id as string}.${'A'.repeat(43)}`, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')]) {
      expect((await visitor.call('POST', '/partner/v1/invitations/lookup', { token: forged })).body.error.code).toBe('INVALID_LINK')
    }
  })
})
