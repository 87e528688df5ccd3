// The embedded demo: an echo upstream served by the control server itself, and a seed
// (once, on an empty database) of an upstream, API, plan, partner, app and grant pointing
// at it — so that a new user's first curl through the gateway succeeds.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { ConfigWriter } from '../store/config-writer.js'
import type { PrismaClient } from '../store/db.js'
import type { SecretBox } from '../domain/crypto.js'
import { issueCredential } from './services/credentials.js'

export const DEMO_UPSTREAM_PREFIX = '/demo-upstream'

export interface DemoCredentials {
  appId: string
  key: string
  secret: string
  apiKey: string
  path: string
}

/** Echoes what the upstream received, so a user sees the gateway's headers and the stripped credentials. */
export async function demoUpstreamRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
  fastify.all(`${DEMO_UPSTREAM_PREFIX}/*`, { schema: { hide: true } }, async request => ({
    message: 'Hello from the demo upstream',
    method: request.method,
    path: request.url.slice(DEMO_UPSTREAM_PREFIX.length).split('?')[0],
    query: request.query,
    receivedHeaders: Object.fromEntries(Object.entries(request.headers).filter(([name]) => name.startsWith('x-') || name === 'content-type')),
    body: Buffer.isBuffer(request.body) ? request.body.toString('utf8') : request.body ?? null
  }))
}

export async function seedDemo (prisma: PrismaClient, writer: ConfigWriter, secretBox: SecretBox, options: { controlPort: number, dataDir: string }): Promise<DemoCredentials | undefined> {
  const file = path.join(options.dataDir, 'demo-credentials.json')
  if (await prisma.partner.count() > 0 || await prisma.api.count() > 0) {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials : undefined
  }
  const demo = await writer.write('system:demo-seed', async ({ tx, audit }) => {
    const upstream = await tx.upstream.create({
      data: { name: 'demo-upstream', targets: { create: [{ url: `http://127.0.0.1:${options.controlPort}${DEMO_UPSTREAM_PREFIX}`, weight: 1 }] } }
    })
    const plan = await tx.plan.create({ data: { name: 'demo', rateLimitPerSecond: 10, rateLimitBurst: 20, quotaPerDay: 10000, quotaPerMonth: 100000, maxConnections: 10 } })
    const api = await tx.api.create({
      data: {
        name: 'demo',
        description: 'Echoes every request; served by the gateway process itself',
        upstreamId: upstream.id,
        auth: ['hmac', 'apikey', 'jwt'],
        autoApprove: true,
        planIds: [plan.id],
        routes: { create: [{ path: '/demo', methods: [], stripPrefix: true, websocket: false }] }
      }
    })
    const partner = await tx.partner.create({ data: { name: 'Demo Partner', email: 'demo@example.com' } })
    const app = await tx.app.create({ data: { partnerId: partner.id, name: 'Demo App' } })
    const credential = await issueCredential(tx, secretBox, app.id)
    await tx.grant.create({ data: { appId: app.id, apiId: api.id, planId: plan.id, status: 'approved' } })
    audit({ action: 'demo.seed', targetType: 'app', targetId: app.id, details: { api: api.name, partner: partner.name, key: credential.key } })
    // one entry per kind of record created, so that running gateways reload each of them
    audit({ action: 'demo.seed', targetType: 'api', targetId: api.id, details: { upstream: upstream.name, plan: plan.name } })
    return { appId: app.id, key: credential.key, secret: credential.secret, apiKey: credential.apiKey, path: '/demo/hello' }
  })
  // kept only on the embedded demo's own disk, readable by its owner, so restarts can print it again
  writeFileSync(file, JSON.stringify(demo, null, 2), { mode: 0o600 })
  chmodSync(file, 0o600)
  return demo
}
