// /admin/v1/nodes and /admin/v1/overview — the gateway nodes from the node registry, and the
// live traffic they report: per API, rejections, WebSocket connections, and the busiest apps.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ERROR_RESPONSES, NullableTimestamp, Timestamp } from '../../schemas/common.js'
import { nodeView, overview, type TopApp } from '../../services/overview.js'

const Target = Type.Object({ upstream: Type.String(), target: Type.String(), healthy: Type.Boolean() })
const NullableNumber = Type.Union([Type.Number(), Type.Null()])

const Node = Type.Object({
  id: Type.String({ format: 'uuid' }),
  hostname: Type.String(),
  pid: Type.Integer(),
  version: Type.String({ description: 'the partner-gateway release the node runs' }),
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('stopped')], { description: 'down: three report intervals overdue; stopped: shut down gracefully' }),
  startedAt: Timestamp,
  reportedAt: Timestamp,
  stoppedAt: NullableTimestamp,
  configVersion: Type.String({ description: 'the configuration version of the snapshot the node serves' }),
  versionsBehind: Type.Integer({ description: 'how many configuration versions the node is behind the current one' }),
  snapshotAgeSeconds: Type.Number({ description: 'at the last report: seconds since the snapshot was loaded from the database' }),
  requestsPerMinute: Type.Number(),
  webSocketConnections: Type.Integer(),
  databaseUp: Type.Boolean(),
  redisUp: Type.Union([Type.Boolean(), Type.Null()]),
  targets: Type.Array(Target)
})

const Point = Type.Object({ minute: Timestamp, requests: Type.Number(), errors: Type.Number(), refused: Type.Number(), p99Ms: NullableNumber })

const Overview = Type.Object({
  generatedAt: Timestamp,
  minutes: Type.Integer(),
  nodes: Type.Object({ up: Type.Integer(), down: Type.Integer(), stopped: Type.Integer() }),
  totals: Type.Object({ requestsPerMinute: Type.Number(), refusedPerMinute: Type.Number(), errorRate: NullableNumber, p99Ms: NullableNumber, webSocketConnections: Type.Integer() }),
  apis: Type.Array(Type.Object({
    api: Type.String(),
    requestsPerMinute: Type.Number(),
    refusedPerMinute: Type.Number(),
    errorRate: Type.Union([Type.Number(), Type.Null()], { description: 'share of the last minute\'s requests answered with a 5xx' }),
    p99Ms: NullableNumber,
    webSocketConnections: Type.Integer(),
    series: Type.Array(Point)
  })),
  rejections: Type.Array(Type.Object({ reason: Type.String({ description: 'the error code, e.g. RATE_LIMITED, QUOTA_EXCEEDED' }), perMinute: Type.Number(), inRange: Type.Number() })),
  topApps: Type.Array(Type.Object({ appId: Type.String(), appName: Type.String(), partnerId: Type.String(), partnerName: Type.String(), calls: Type.Integer(), rejected: Type.Integer() }))
})

const TOP_APPS = 10

export const nodeRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['monitoring']

  fastify.get('/nodes', {
    schema: { tags, summary: 'Every gateway node in the registry: version, configuration version, snapshot age, state', response: { 200: Type.Object({ currentConfigVersion: Type.String(), items: Type.Array(Node) }), ...ERROR_RESPONSES } }
  }, async () => {
    const [nodes, current] = await Promise.all([fastify.nodeRegistry.read(), fastify.configWriter.currentVersion()])
    const now = Date.now()
    return { currentConfigVersion: current.toString(), items: nodes.map(node => nodeView(node, now, current)) }
  })

  /** Today's (UTC) calls per app, from the usage the gateways flush. */
  async function topApps (): Promise<TopApp[]> {
    const day = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z')
    const rows = await fastify.prisma.usageDaily.groupBy({ by: ['appId'], where: { day }, _sum: { calls: true, rejected: true }, orderBy: { _sum: { calls: 'desc' } }, take: TOP_APPS })
    const apps = await fastify.prisma.app.findMany({ where: { id: { in: rows.map(row => row.appId) } }, include: { partner: { select: { id: true, name: true } } } })
    return rows.flatMap(row => {
      const app = apps.find(each => each.id === row.appId)
      if (app === undefined) return []
      return [{ appId: app.id, appName: app.name, partnerId: app.partner.id, partnerName: app.partner.name, calls: Number(row._sum.calls ?? 0n), rejected: Number(row._sum.rejected ?? 0n) }]
    })
  }

  fastify.get('/overview', {
    schema: {
      tags,
      summary: 'Live traffic from every gateway node: the last minute per API, a per-minute series, rejections, WebSocket connections and the busiest apps today',
      querystring: Type.Object({ minutes: Type.Integer({ minimum: 5, maximum: 30, default: 30 }) }),
      response: { 200: Overview, ...ERROR_RESPONSES }
    }
  }, async request => {
    const [nodes, apps] = await Promise.all([fastify.nodeRegistry.read(), topApps()])
    return overview(nodes, Date.now(), { minutes: request.query.minutes, topApps: apps })
  })
}
