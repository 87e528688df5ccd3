// Tells operators about what waits for them — new partner sign-ups and access requests — by
// mail to the operator address and by a signed webhook, both optional. Deliveries run in
// the background with a deadline: a slow or failing receiver is logged, never felt by the
// partner whose request caused it.
import { randomUUID } from 'node:crypto'
import type { Config } from '../../config/schema.js'
import { WEBHOOK_SIGNATURE_HEADER, webhookSignature } from '../../domain/webhook-signature.js'
import type { BackgroundTasks } from './background-tasks.js'
import type { Mail, Mailer } from './mailer.js'

export interface PartnerSignupEvent {
  type: 'partner.signup'
  data: { partnerId: string, partnerName: string, email: string, status: string }
}

export interface AccessRequestedEvent {
  type: 'grant.requested'
  data: {
    grantId: string
    partnerId: string
    partnerName: string
    appId: string
    appName: string
    apiId: string
    apiName: string
    planId: string
    planName: string
    requestedBy: string
  }
}

export type OperatorEvent = PartnerSignupEvent | AccessRequestedEvent

type NotifierSettings = Pick<Config, 'operatorNotificationEmail' | 'operatorWebhookUrl' | 'operatorWebhookSecret' | 'operatorWebhookTimeoutMs'>

export function operatorMail (to: string, event: OperatorEvent, adminUrl: string): Mail {
  if (event.type === 'partner.signup') {
    const { partnerName, email, status, partnerId } = event.data
    return {
      to,
      subject: `New partner sign-up: ${partnerName}${status === 'pending' ? ' (waiting for approval)' : ''}`,
      text: [
        `${partnerName} signed up in the partner portal with ${email}.`,
        status === 'pending'
          ? `The partner waits for approval: PATCH ${adminUrl}/admin/v1/partners/${partnerId} with {"status":"active"}.`
          : 'The partner is active and can create apps and request access.',
        `Pending partners: GET ${adminUrl}/admin/v1/partners?status=pending`
      ].join('\n')
    }
  }
  const data = event.data
  return {
    to,
    subject: `Access request: ${data.partnerName} / ${data.appName} → ${data.apiName}`,
    text: [
      `${data.partnerName} (${data.requestedBy}) asks for its app ${data.appName} to call ${data.apiName} on the plan ${data.planName}.`,
      `Approve: PATCH ${adminUrl}/admin/v1/grants/${data.grantId} with {"status":"approved"} (or "rejected").`,
      `Pending requests: GET ${adminUrl}/admin/v1/grants?status=requested`
    ].join('\n')
  }
}

export class OperatorNotifier {
  readonly #settings: NotifierSettings
  readonly #mailer: Mailer
  readonly #tasks: BackgroundTasks
  readonly #adminUrl: () => string

  constructor (settings: NotifierSettings, mailer: Mailer, tasks: BackgroundTasks, adminUrl: () => string) {
    this.#settings = settings
    this.#mailer = mailer
    this.#tasks = tasks
    this.#adminUrl = adminUrl
  }

  notify (event: OperatorEvent): void {
    const to = this.#settings.operatorNotificationEmail
    if (to !== undefined) {
      this.#tasks.run(`operator notification mail (${event.type})`, async () => await this.#mailer.send(operatorMail(to, event, this.#adminUrl())))
    }
    const url = this.#settings.operatorWebhookUrl
    const secret = this.#settings.operatorWebhookSecret
    if (url !== undefined && secret !== undefined) {
      const body = JSON.stringify({ id: randomUUID(), type: event.type, occurredAt: new Date().toISOString(), data: event.data })
      this.#tasks.run(`operator webhook (${event.type}) to ${url}`, async () => { await this.#post(url, secret, body) })
    }
  }

  async #post (url: string, secret: string, body: string): Promise<void> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'partner-gateway-webhook', [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(secret, body) },
      body,
      // a redirect would resend the signed body to a place the operator did not configure
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#settings.operatorWebhookTimeoutMs)
    })
    await response.body?.cancel()
    if (response.status < 200 || response.status >= 300) throw new Error(`the receiver answered ${response.status}`)
  }
}
