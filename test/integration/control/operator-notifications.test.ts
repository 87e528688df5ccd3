// Operators hear of sign-ups and access requests by mail (local SMTP server) and by a signed
// webhook (local HTTP server); a failing or hanging receiver never fails the partner's
// request. The pending lists then name the partner, app, API and plan.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startSmtpCapture, type SmtpCapture } from '../../helpers/smtp-capture.js'
import { startUpstream, type ReceivedRequest, type TestUpstream } from '../../helpers/upstream.js'
import { PortalClient } from '../partner/portal-client.js'
import { createApi, createPlan, unique } from './fixtures.js'

const OPERATORS = 'ops@example.test'
const SECRET = 'webhook-secret-0123456789'

function signatureValid (request: ReceivedRequest, secret: string): boolean {
  const sent = Buffer.from(String(request.headers['x-webhook-signature-256']))
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`)
  return sent.length === expected.length && timingSafeEqual(sent, expected)
}

describe.each(DATABASE_KINDS)('operator notifications on %s', kind => {
  let server: TestControlServer
  let smtp: SmtpCapture
  let receiver: TestUpstream

  beforeAll(async () => {
    smtp = await startSmtpCapture()
    receiver = await startUpstream('webhook', (_request, response) => { response.statusCode = 204; response.end() })
    server = await startControlServer(kind, { config: { smtpUrl: smtp.url, operatorNotificationEmail: OPERATORS, operatorWebhookUrl: `${receiver.url}/hooks/gateway`, operatorWebhookSecret: SECRET } })
  })
  afterAll(async () => {
    await server?.close()
    await receiver?.close()
    await smtp?.close()
  })

  const deliveries = (type: string, match: (data: any) => boolean): Array<{ request: ReceivedRequest, body: any }> =>
    receiver.received.map(request => ({ request, body: JSON.parse(request.body) })).filter(({ body }) => body.type === type && match(body.data))

  it('mails the operators and posts a signed webhook when a partner signs up, and lists it as pending when approval is required', async () => {
    expect((await server.call('PUT', '/admin/v1/settings', { requirePartnerApproval: true })).status).toBe(200)
    const company = unique('Signup Co')
    const email = `${unique('owner')}@example.com`
    const signup = await new PortalClient(server.url).signup(company, email)
    expect((await server.call('PUT', '/admin/v1/settings', { requirePartnerApproval: false })).status).toBe(200)
    expect(signup.status).toBe(201)
    await server.fastify.backgroundTasks.drain()

    const mail = await smtp.waitFor(message => message.to.includes(OPERATORS) && message.subject.includes(company))
    expect(mail.subject).toBe(`New partner sign-up: ${company} (waiting for approval)`)
    expect(mail.text).toContain(email)
    expect(mail.text).toContain(`/admin/v1/partners/${signup.body.partner.id as string}`)

    const [hook] = deliveries('partner.signup', data => data.partnerName === company)
    expect(hook.request).toMatchObject({ method: 'POST', url: '/hooks/gateway' })
    expect(hook.request.headers['content-type']).toBe('application/json')
    expect(signatureValid(hook.request, SECRET)).toBe(true)
    expect(signatureValid({ ...hook.request, body: hook.request.body.replace(company, 'Forged') }, SECRET)).toBe(false)
    expect(hook.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'partner.signup', occurredAt: expect.any(String), data: { partnerId: signup.body.partner.id, partnerName: company, email, status: 'pending' } })

    const pending = await server.call('GET', '/admin/v1/partners?status=pending&limit=200')
    expect(pending.body.items.map((partner: { name: string }) => partner.name)).toContain(company)
    expect(pending.body.items.every((partner: { status: string }) => partner.status === 'pending')).toBe(true)
  })

  it('tells operators of access requests with partner, app, API and plan names, which the pending grants list carries too; not of auto-approved ones', async () => {
    const plan = await createPlan(server)
    const api = await createApi(server, { planIds: [plan.id] })
    const autoApi = await createApi(server, { autoApprove: true })
    const company = unique('Requester')
    const client = new PortalClient(server.url)
    const email = `${unique('dev')}@example.com`
    const signup = await client.signup(company, email)
    const app = await client.call('POST', '/partner/v1/apps', { name: 'erp' })
    const requested = await client.call('POST', '/partner/v1/access-requests', { appId: app.body.id, apiId: api.id, planId: plan.id })
    expect(requested.status).toBe(201)
    expect((await client.call('POST', '/partner/v1/access-requests', { appId: app.body.id, apiId: autoApi.id, planId: plan.id })).body.status).toBe('approved')
    await server.fastify.backgroundTasks.drain()

    const names = { partnerId: signup.body.partner.id, partnerName: company, appId: app.body.id, appName: 'erp', apiId: api.id, apiName: api.name, planId: plan.id, planName: plan.name }
    const hooks = deliveries('grant.requested', data => data.partnerName === company)
    expect(hooks.map(hook => hook.body.data)).toEqual([{ grantId: requested.body.id, ...names, requestedBy: email }])
    expect(signatureValid(hooks[0].request, SECRET)).toBe(true)
    const mails = smtp.messages.filter(message => message.to.includes(OPERATORS) && message.subject.startsWith('Access request') && message.subject.includes(company))
    expect(mails.map(message => message.subject)).toEqual([`Access request: ${company} / erp → ${api.name as string}`])
    expect(mails[0].text).toContain(`${company} (${email}) asks for its app erp to call ${api.name as string} on the plan ${plan.name as string}`)

    const queue = await server.call('GET', '/admin/v1/grants?status=requested&limit=200')
    expect(queue.body.items.filter((grant: { partnerName: string }) => grant.partnerName === company)).toEqual([
      { id: requested.body.id, ...names, status: 'requested', createdAt: expect.any(String), updatedAt: expect.any(String) }
    ])
  })
})

describe('operator webhooks that fail', () => {
  let server: TestControlServer
  let hanging: TestUpstream
  const lines: Array<Record<string, any>> = []

  beforeAll(async () => {
    // accepts the connection and never answers
    hanging = await startUpstream('hanging', () => {})
    const sink = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString('utf8'))); done() } })
    server = await startControlServer('pglite', {
      logger: pino({ level: 'info' }, sink),
      config: { operatorWebhookUrl: hanging.url, operatorWebhookSecret: SECRET, operatorWebhookTimeoutMs: 300 }
    })
  })
  afterAll(async () => {
    await server?.close()
    hanging.server.closeAllConnections()
    await hanging?.close()
  })

  it('answers the partner at once and logs the failure when the receiver hangs past the deadline', async () => {
    const started = Date.now()
    const signup = await new PortalClient(server.url).signup(unique('Patient Co'), `${unique('p')}@example.com`)
    expect(signup.status).toBe(201)
    expect(hanging.received).toHaveLength(0)
    const answeredAfter = Date.now() - started
    await server.fastify.backgroundTasks.drain()
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(Date.now() - started).toBeLessThan(answeredAfter + 3000)
    const failure = lines.find(line => typeof line.msg === 'string' && line.msg.startsWith('operator webhook (partner.signup)'))
    expect(failure).toMatchObject({ level: 40, msg: `operator webhook (partner.signup) to ${hanging.url} failed` })
  })
})
