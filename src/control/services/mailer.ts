// Outgoing mail: through SMTP when one is configured, otherwise one readable log line per
// mail (recipient, subject, link), so that a deployment without SMTP can still hand out
// invitation and reset links from its logs.
import nodemailer, { type Transporter } from 'nodemailer'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/schema.js'

export interface Mail {
  to: string
  subject: string
  text: string
  /** the one link the mail is about, logged when the mail cannot be sent */
  link?: string
}

/** sent: the SMTP server accepted it; logged: no SMTP is configured, the log line stands in */
export type Delivery = 'sent' | 'logged'

export interface Mailer {
  send: (mail: Mail) => Promise<Delivery>
  close: () => void
}

// nodemailer waits up to two minutes for a connection and ten for a reply by default
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }

type SmtpSettings = Pick<Config, 'smtpUrl' | 'smtpHost' | 'smtpPort' | 'smtpSecure' | 'smtpUser' | 'smtpPassword' | 'mailFrom'>

export function smtpConfigured (config: SmtpSettings): boolean {
  return config.smtpUrl !== undefined || config.smtpHost !== undefined
}

function smtpTransport (config: SmtpSettings): Transporter {
  if (config.smtpUrl !== undefined) {
    const url = new URL(config.smtpUrl)
    return nodemailer.createTransport({
      host: url.hostname,
      port: url.port === '' ? (url.protocol === 'smtps:' ? 465 : 587) : Number(url.port),
      secure: url.protocol === 'smtps:',
      ...(url.username !== '' ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
      ...SMTP_TIMEOUTS
    })
  }
  return nodemailer.createTransport({
    host: config.smtpHost,
    port: config.smtpPort,
    secure: config.smtpSecure,
    ...(config.smtpUser !== undefined ? { auth: { user: config.smtpUser, pass: config.smtpPassword ?? '' } } : {}),
    ...SMTP_TIMEOUTS
  })
}

export function createMailer (config: SmtpSettings, logger: FastifyBaseLogger): Mailer {
  if (!smtpConfigured(config)) {
    return {
      async send (mail) {
        logger.info({ mail: { to: mail.to, subject: mail.subject, link: mail.link } }, `mail not sent (no SMTP configured): to ${mail.to}, "${mail.subject}"${mail.link !== undefined ? `, ${mail.link}` : ''}`)
        return 'logged'
      },
      close () {}
    }
  }
  const transport = smtpTransport(config)
  return {
    async send (mail) {
      await transport.sendMail({ from: config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text })
      return 'sent'
    },
    close () { transport.close() }
  }
}
