// What a benchmark run starts: the upstream, the two baselines (nginx and a bare
// @fastify/http-proxy), and the gateway in its deployments — embedded (PGlite, in-memory
// counters, both roles in one process) or PostgreSQL + a private Redis (control and gateway
// as separate processes, as they are deployed).
import path from 'node:path'
import {
  accessToken, configureFixture, createDatabase, freePort, newSecrets, OperatorClient, startProduct, waitUntilServed,
  type BenchFixture, type RunningProcess
} from './product.js'
import { compileHelper, startHelperServer, startNginx, startPrivateRedis, type Child } from './processes.js'

export interface Baselines {
  upstream: Child
  upstreamUrl: string
  bareProxy?: Child
  bareProxyUrl?: string
  nginx?: Child
  nginxUrl?: string
}

export async function startUpstream (repository: string, directory: string): Promise<{ child: Child, url: string }> {
  const script = compileHelper(repository, 'bench/upstream-server.ts')
  const { child, port } = await startHelperServer(script, [], path.join(directory, 'upstream.log'))
  return { child, url: `http://127.0.0.1:${port}` }
}

export async function startBaselines (repository: string, directory: string): Promise<Baselines> {
  const upstream = await startUpstream(repository, directory)
  const bare = await startHelperServer(compileHelper(repository, 'bench/bare-proxy.ts'), [upstream.url], path.join(directory, 'bare-proxy.log'))
  const nginx = await startNginx(path.join(directory, 'nginx'), upstream.url)
  return {
    upstream: upstream.child,
    upstreamUrl: upstream.url,
    bareProxy: bare.child,
    bareProxyUrl: `http://127.0.0.1:${bare.port}`,
    nginx: nginx.child,
    nginxUrl: `http://127.0.0.1:${nginx.port}`
  }
}

export interface GatewayDeployment {
  gateway: RunningProcess
  control?: RunningProcess
  gatewayUrl: string
  controlUrl: string
  operator: OperatorClient
  fixture: BenchFixture
  /** access token of the first app */
  token: string
  redis?: { child: Child, port: number, url: string }
  databaseUrl?: string
  secrets: { adminToken: string, masterKey: string }
}

/** Embedded database, in-memory counters, gateway and control in one process: `npm start` as a new user runs it. */
export async function startEmbeddedGateway (directory: string, upstreamUrl: string, appCount: number, nodeFlags: string[] = []): Promise<GatewayDeployment> {
  const secrets = newSecrets()
  const gatewayPort = await freePort()
  const controlPort = await freePort()
  const gateway = await startProduct({ name: 'embedded', directory, roles: ['gateway', 'control'], gatewayPort, controlPort, ...secrets, nodeFlags })
  return await configure({ gateway, gatewayPort, controlPort, secrets, upstreamUrl, appCount })
}

/**
 * PostgreSQL (a fresh database unless one is given) and a private Redis; the control server
 * and the gateway run as separate processes so that the gateway's CPU and RSS are its own.
 */
export async function startClusteredGateway (directory: string, upstreamUrl: string, appCount: number, given: { databaseUrl?: string, masterKey?: string, name?: string, nodeFlags?: { control?: string[], gateway?: string[] } } = {}): Promise<GatewayDeployment & { dropDatabase?: () => Promise<void> }> {
  const name = given.name ?? 'clustered'
  const secrets = { ...newSecrets(), ...(given.masterKey !== undefined ? { masterKey: given.masterKey } : {}) }
  const database = given.databaseUrl !== undefined ? undefined : await createDatabase()
  const databaseUrl = given.databaseUrl ?? database?.url as string
  const redis = await startPrivateRedis(path.join(directory, `${name}-redis.log`))
  const gatewayPort = await freePort()
  const controlPort = await freePort()
  const common = { directory, gatewayPort, controlPort, ...secrets, databaseUrl, redisUrl: redis.url }
  const control = await startProduct({ ...common, name: `${name}-control`, roles: ['control'], nodeFlags: given.nodeFlags?.control })
  const gateway = await startProduct({ ...common, name: `${name}-gateway`, roles: ['gateway'], nodeFlags: given.nodeFlags?.gateway })
  const deployment = await configure({ gateway, control, gatewayPort, controlPort, secrets, upstreamUrl, appCount })
  return { ...deployment, redis, databaseUrl, dropDatabase: database?.drop }
}

async function configure (options: { gateway: RunningProcess, control?: RunningProcess, gatewayPort: number, controlPort: number, secrets: { adminToken: string, masterKey: string }, upstreamUrl: string, appCount: number }): Promise<GatewayDeployment> {
  const controlUrl = `http://127.0.0.1:${options.controlPort}`
  const gatewayUrl = `http://127.0.0.1:${options.gatewayPort}`
  const operator = new OperatorClient(controlUrl, options.secrets.adminToken)
  const fixture = options.appCount > 0 ? await configureFixture(operator, options.upstreamUrl, options.appCount) : { apiId: '', planId: '', path: '', apps: [] }
  const token = fixture.apps.length > 0 ? await accessToken(controlUrl, fixture.apps[0]) : ''
  if (fixture.apps.length > 0) await waitUntilServed(`${gatewayUrl}${fixture.path}`, { 'x-api-key': fixture.apps[0].apiKey })
  return { gateway: options.gateway, control: options.control, gatewayUrl, controlUrl, operator, fixture, token, secrets: options.secrets }
}
