// How long applying a one-grant revocation to a compiled snapshot takes, in this process, at
// the scale mode's size (100,000 apps with a credential each, 200,000 grants, 10,000 routes):
// the apply step alone, without the database or the event. The revocations run one after
// another on the snapshot each one produced, so the folds of the layered maps (one per
// 1,024 changed keys) are among them. Prints median, p99 and max.
//   npx tsx bench/apply-delta.ts     BENCH_SCALE_APPS (100000), BENCH_DELTAS (3000)
import { randomBytes } from 'node:crypto'
import { SecretBox } from '../src/domain/crypto.js'
import { applyConfigDelta, compileSnapshot } from '../src/gateway/snapshot/compile.js'
import type { ConfigSnapshotData } from '../src/store/config-snapshot.js'

const APPS = Number(process.env.BENCH_SCALE_APPS ?? 100_000)
const DELTAS = Math.min(Number(process.env.BENCH_DELTAS ?? 3000), APPS)
const APIS = 1000

const box = new SecretBox(randomBytes(32))
// one sealed secret for all: decrypting is compile's cost, not the apply step's
const sealed = box.encrypt('secret')
const apps = Array.from({ length: APPS }, (_, index) => ({ id: `app-${index}`, partnerId: `partner-${Math.floor(index / 100)}`, name: `app-${index}`, status: 'active' as const }))
const apis = Array.from({ length: APIS }, (_, index) => ({ id: `api-${index}`, name: `api-${index}`, upstreamId: 'upstream', auth: ['apikey' as const], cors: null }))
const data: ConfigSnapshotData = {
  version: '1',
  loadedAt: Date.now(),
  upstreams: [{ id: 'upstream', name: 'upstream', targets: [{ url: 'http://127.0.0.1:1', weight: 1 }], loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000 }],
  apis,
  routes: apis.flatMap((api, index) => Array.from({ length: 10 }, (_, route) => ({ id: `${api.id}-${route}`, apiId: api.id, methods: [], host: null, path: `/api-${index}/r${route}`, stripPrefix: true, websocket: false }))),
  plans: Array.from({ length: 10 }, (_, index) => ({ id: `plan-${index}`, name: `plan-${index}`, rateLimitPerSecond: 100, rateLimitBurst: 100, quotaPerDay: null, quotaPerMonth: null, maxConnections: null })),
  signingKeys: [],
  portalOrigin: null,
  apps,
  credentials: apps.map(app => ({ id: `credential-${app.id}`, appId: app.id, key: `key-${app.id}`, secretCiphertext: sealed, apiKeyHash: `hash-${app.id}`, expiresAt: null })),
  grants: apps.flatMap((app, index) => [0, APIS / 2].map(offset => ({ id: `grant-${app.id}-${offset}`, appId: app.id, apiId: `api-${(index + offset) % APIS}`, planId: `plan-${index % 10}` })))
}

let snapshot = compileSnapshot(data, box)
const milliseconds: number[] = []
for (let index = 0; index < DELTAS; index++) {
  const started = performance.now()
  snapshot = applyConfigDelta(snapshot, { version: String(2 + index), appIds: [], partnerIds: [], grantIds: [`grant-app-${index}-0`], identities: { apps: [], credentials: [], grants: [] } }, box)
  milliseconds.push(performance.now() - started)
}
if (snapshot.grants.size !== APPS * 2 - DELTAS) throw new Error(`expected ${APPS * 2 - DELTAS} grants, found ${snapshot.grants.size}`)
milliseconds.sort((a, b) => a - b)
const at = (share: number): string => milliseconds[Math.min(milliseconds.length - 1, Math.floor(milliseconds.length * share))].toFixed(2)
console.log(`${DELTAS} one-grant revocations applied one after another to ${APPS} apps / ${APPS * 2} grants: median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`)
