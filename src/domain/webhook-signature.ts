// Operator webhooks are signed the way GitHub signs its deliveries, so receivers can reuse
// their verification code: `X-Webhook-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
import { createHmac } from 'node:crypto'

export const WEBHOOK_SIGNATURE_HEADER = 'x-webhook-signature-256'

export function webhookSignature (secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}
