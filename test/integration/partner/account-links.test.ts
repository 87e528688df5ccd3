// Password reset and email verification over real HTTP, with mail through a local SMTP
// server — and, without SMTP, one readable log line per mail whose link works as well.
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { linksIn, startSmtpCapture, type CapturedMail, type SmtpCapture } from '../../helpers/smtp-capture.js'
import { PortalClient } from './portal-client.js'

const PUBLIC_URL = 'https://partners.example.test'
const OLD_PASSWORD = 'correct horse battery'
const NEW_PASSWORD = 'another long passphrase'
let counter = 0
const unique = (label: string): string => `${label}-${Date.now().toString(36)}-${counter++}`

function tokenIn (mail: CapturedMail, page: string): string {
  const link = linksIn(mail).find(candidate => candidate.startsWith(`${PUBLIC_URL}/portal/${page}#token=`))
  expect(link, mail.text).toBeDefined()
  return (link as string).split('#token=')[1]
}

describe.each(DATABASE_KINDS)('password reset and email verification on %s', kind => {
  let server: TestControlServer
  let smtp: SmtpCapture

  beforeAll(async () => {
    smtp = await startSmtpCapture()
    server = await startControlServer(kind, { config: { publicUrl: PUBLIC_URL, smtpUrl: smtp.url } })
  })
  afterAll(async () => {
    await server?.close()
    await smtp?.close()
  })

  async function signUp (): Promise<{ client: PortalClient, email: string }> {
    const client = new PortalClient(server.url)
    const email = `${unique('user')}@example.com`
    expect((await client.signup(unique('Company'), email, OLD_PASSWORD)).status).toBe(201)
    return { client, email }
  }

  const mailsTo = (email: string, subject: RegExp): CapturedMail[] => smtp.messages.filter(mail => mail.to.includes(email) && subject.test(mail.subject))

  it('answers a reset request the same for known and unknown emails, and mails only the known one a link that works once', async () => {
    const { client, email } = await signUp()
    const unknown = `${unique('nobody')}@example.com`
    const visitor = new PortalClient(server.url)
    const forKnown = await visitor.call('POST', '/partner/v1/password-reset/request', { email: email.toUpperCase() })
    const forUnknown = await visitor.call('POST', '/partner/v1/password-reset/request', { email: unknown })
    expect(forKnown.status).toBe(202)
    expect(forUnknown).toEqual({ ...forKnown, headers: forUnknown.headers })
    // asked again at once: no second mail
    await visitor.call('POST', '/partner/v1/password-reset/request', { email })
    await server.fastify.backgroundTasks.drain()
    expect(mailsTo(unknown, /./)).toEqual([])
    expect(mailsTo(email, /Reset/)).toHaveLength(1)

    const token = tokenIn(mailsTo(email, /Reset/)[0], 'reset-password')
    const stored = await server.database.prisma.partnerUserToken.findMany({ where: { purpose: 'password-reset', user: { email } } })
    expect(stored).toHaveLength(1)
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1])
    expect(stored[0].expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(30 * 60_000)

    const weak = await visitor.call('POST', '/partner/v1/password-reset', { token, password: 'short' })
    expect(weak.body.error.code).toBe('VALIDATION_FAILED')
    expect((await visitor.call('POST', '/partner/v1/password-reset', { token, password: NEW_PASSWORD })).status).toBe(204)
    // every session of the account ended; only the new password logs in
    expect((await client.call('GET', '/partner/v1/me')).status).toBe(401)
    expect((await visitor.login(email, OLD_PASSWORD)).body.error.code).toBe('INVALID_LOGIN')
    expect((await visitor.login(email, NEW_PASSWORD)).status).toBe(200)
    const again = await new PortalClient(server.url).call('POST', '/partner/v1/password-reset', { token, password: 'a third passphrase' })
    expect({ status: again.status, code: again.body.error.code }).toEqual({ status: 400, code: 'INVALID_LINK' })
    expect((await new PortalClient(server.url).login(email, NEW_PASSWORD)).status).toBe(200)
  })

  it('refuses an expired reset link and keeps the password', async () => {
    const { email } = await signUp()
    const visitor = new PortalClient(server.url)
    await visitor.call('POST', '/partner/v1/password-reset/request', { email })
    await server.fastify.backgroundTasks.drain()
    const token = tokenIn(mailsTo(email, /Reset/)[0], 'reset-password')
    await server.database.prisma.partnerUserToken.updateMany({ where: { purpose: 'password-reset', user: { email } }, data: { expiresAt: new Date(Date.now() - 1) } })
    expect((await visitor.call('POST', '/partner/v1/password-reset', { token, password: NEW_PASSWORD })).body.error.code).toBe('INVALID_LINK')
    expect((await visitor.login(email, OLD_PASSWORD)).status).toBe(200)
  })

  it('verifies the email with the link mailed at sign-up, once; a resent link replaces the first', async () => {
    const { client, email } = await signUp()
    expect((await client.call('GET', '/partner/v1/me')).body.user.emailVerified).toBe(false)
    const first = tokenIn(await smtp.waitFor(mail => mail.to.includes(email) && /Verify/.test(mail.subject)), 'verify-email')

    const resent = await client.call('POST', '/partner/v1/email-verification/resend')
    expect(resent).toMatchObject({ status: 202, body: { delivery: 'sent' } })
    const second = tokenIn(mailsTo(email, /Verify/)[1], 'verify-email')
    const visitor = new PortalClient(server.url)
    expect((await visitor.call('POST', '/partner/v1/email-verification', { token: first })).body.error.code).toBe('INVALID_LINK')
    expect((await client.call('GET', '/partner/v1/me')).body.user.emailVerified).toBe(false)

    // the link works without a session: it may be opened in another browser
    expect((await visitor.call('POST', '/partner/v1/email-verification', { token: second })).body).toEqual({ email, emailVerified: true })
    expect((await client.call('GET', '/partner/v1/me')).body.user.emailVerified).toBe(true)
    expect((await visitor.call('POST', '/partner/v1/email-verification', { token: second })).body.error.code).toBe('INVALID_LINK')
    expect((await client.call('POST', '/partner/v1/email-verification/resend')).status).toBe(409)
    const audit = await server.call('GET', '/admin/v1/audit?action=partner-user.email-verify&limit=200')
    expect(JSON.stringify(audit.body)).not.toContain(second.split('.')[1])
  })

  it('refuses an expired verification link', async () => {
    const { client, email } = await signUp()
    const token = tokenIn(await smtp.waitFor(mail => mail.to.includes(email) && /Verify/.test(mail.subject)), 'verify-email')
    await server.database.prisma.partnerUserToken.updateMany({ where: { purpose: 'email-verification', user: { email } }, data: { expiresAt: new Date(Date.now() - 1) } })
    expect((await client.call('POST', '/partner/v1/email-verification', { token })).body.error.code).toBe('INVALID_LINK')
    expect((await client.call('GET', '/partner/v1/me')).body.user.emailVerified).toBe(false)
  })
})

describe('mail without SMTP', () => {
  let server: TestControlServer
  const lines: Array<Record<string, any>> = []

  beforeAll(async () => {
    const sink = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString('utf8'))); done() } })
    server = await startControlServer('pglite', { logger: pino({ level: 'info' }, sink) })
  })
  afterAll(async () => { await server?.close() })

  it('logs one readable line per mail, with recipient, subject and a link to this server that works', async () => {
    const email = `${unique('nosmtp')}@example.com`
    const client = new PortalClient(server.url)
    expect((await client.signup(unique('No Smtp Co'), email, OLD_PASSWORD)).status).toBe(201)
    await client.call('POST', '/partner/v1/password-reset/request', { email })
    await server.fastify.backgroundTasks.drain()
    const mails = lines.filter(line => typeof line.msg === 'string' && line.msg.startsWith('mail not sent (no SMTP configured)'))
    expect(mails.map(line => line.mail.subject)).toEqual(['Verify your email for the partner portal', 'Reset your partner portal password'])
    const port = new URL(server.url).port
    const reset = mails[1]
    expect(reset.msg).toMatch(new RegExp(`^mail not sent \\(no SMTP configured\\): to ${email.replace('.', '\\.')}, "Reset your partner portal password", http://localhost:${port}/portal/reset-password#token=[\\w-]+\\.[\\w-]+$`))
    const token = (reset.mail.link as string).split('#token=')[1]
    expect((await client.call('POST', '/partner/v1/password-reset', { token, password: NEW_PASSWORD })).status).toBe(204)
    expect((await client.login(email, NEW_PASSWORD)).status).toBe(200)
  })
})
