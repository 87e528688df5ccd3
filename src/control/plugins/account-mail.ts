// Mail and operator notifications for the control server: the mailer (SMTP or a log line),
// the background tasks that carry mails and webhooks, and the links mails point to.
// Links are built from PUBLIC_URL, never from the request's Host header: a forged Host would
// otherwise make a password-reset mail point to the forger's site.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { BackgroundTasks } from '../services/background-tasks.js'
import { createMailer, type Delivery, type Mail, type Mailer } from '../services/mailer.js'
import { OperatorNotifier } from '../services/operator-notifier.js'

/** The portal pages a one-time link opens; the token travels in the fragment, which browsers never send to a server. */
export type PortalLinkPage = 'accept-invitation' | 'reset-password' | 'verify-email'

declare module 'fastify' {
  interface FastifyInstance {
    mailer: Mailer
    backgroundTasks: BackgroundTasks
    operatorNotifier: OperatorNotifier
    /** PUBLIC_URL, or http://localhost:<port the control server listens on> */
    publicBaseUrl: () => string
    portalLink: (page: PortalLinkPage, token: string) => string
    /** Sends now and says how it went; a failure is logged, not thrown, for routes whose change stands either way. */
    deliverMail: (mail: Mail) => Promise<Delivery | 'failed'>
  }
}

async function accountMail (fastify: FastifyInstance): Promise<void> {
  const config = fastify.appConfig
  const mailer = createMailer(config, fastify.log)
  const tasks = new BackgroundTasks(fastify.log)
  const publicBaseUrl = (): string => {
    if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '')
    const address = fastify.server.address()
    return `http://localhost:${typeof address === 'object' && address !== null ? address.port : config.controlPort}`
  }
  fastify.decorate('mailer', mailer)
  fastify.decorate('backgroundTasks', tasks)
  fastify.decorate('operatorNotifier', new OperatorNotifier(config, mailer, tasks, publicBaseUrl))
  fastify.decorate('publicBaseUrl', publicBaseUrl)
  fastify.decorate('portalLink', (page: PortalLinkPage, token: string) => `${publicBaseUrl()}/portal/${page}#token=${token}`)
  fastify.decorate('deliverMail', async (mail: Mail) => await mailer.send(mail).catch((error: unknown) => {
    fastify.log.warn({ err: error, to: mail.to }, `mail "${mail.subject}" could not be sent`)
    return 'failed' as const
  }))
  fastify.addHook('onClose', async () => {
    await tasks.drain()
    mailer.close()
  })
}

export default fp(accountMail, { name: 'account-mail', fastify: '5.x' })
