import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import type { Config } from '../../../../src/config/schema.js'
import type { FailedAuthentications } from '../../../../src/gateway/client-caps/failed-authentications.js'
import type { LimitBackends } from '../../../../src/limits/index.js'
import { policyChains } from '../../../../src/gateway/policies/build-chain.js'
import { runPolicies, type PolicyContext, type PolicyUnit } from '../../../../src/gateway/policies/chain.js'
import type { ApiPolicyDefinition, AppPolicyDefinition, ChainServices, PolicyPhase } from '../../../../src/gateway/policies/definition.js'
import { MemoryResponseCache } from '../../../../src/gateway/policies/response-cache/stores.js'
import type { UpstreamPools } from '../../../../src/gateway/proxy/upstream-pool.js'
import type { CompiledApi, GatewaySnapshot } from '../../../../src/gateway/snapshot/compile.js'
import type { UsageRecorder } from '../../../../src/gateway/usage/usage-recorder.js'

const services: ChainServices = {
  config: { timestampWindowSeconds: 900 } as Config,
  limits: { nonceStore: {}, requestLimiter: {} } as unknown as LimitBackends,
  usage: {} as UsageRecorder,
  pools: {} as UpstreamPools,
  responseCache: new MemoryResponseCache(0),
  tokenIssuer: 'https://issuer.example',
  failedAuthentications: {} as FailedAuthentications
}
const snapshot = { routing: {} } as unknown as GatewaySnapshot

function api (policies: Record<string, unknown>): CompiledApi {
  return { id: 'api-1', name: 'orders', upstreamId: 'up-1', auth: ['apikey'], authModes: new Set(['apikey']), policies }
}

function marker (name: string, phase: PolicyPhase, extra: Partial<PolicyUnit> = {}): ApiPolicyDefinition<{ on: boolean }> {
  return {
    name,
    schema: Type.Object({ on: Type.Boolean() }),
    description: name,
    phase,
    compile: config => config?.on === true ? { name, access () {}, ...extra } : undefined
  }
}

const perApp: AppPolicyDefinition<{ on: boolean }> = {
  name: 'per-app',
  schema: Type.Object({ on: Type.Boolean() }),
  description: 'per app',
  phase: 'after-permission',
  compile: () => ({ name: 'per-app', access () {} })
}

describe('policy chain', () => {
  const definitions = [
    marker('late', 'before-proxy', { upstreamResponse () {} }),
    marker('early', 'before-authentication', { transports: ['http'], answersPreflight: true }),
    marker('about-the-app', 'after-permission')
  ]

  it('places each configured unit in its phase around the fixed ones, per transport', () => {
    const chains = policyChains(services, definitions, [perApp])
    const chain = chains(api({ early: { on: true }, late: { on: true }, 'about-the-app': { on: true } }), snapshot)
    expect(chain.http.map(unit => unit.name)).toEqual(['early', 'authentication', 'permission', 'about-the-app', 'per-app', 'upstream-concurrency', 'rate-limit', 'late'])
    expect(chain.websocket.map(unit => unit.name)).toEqual(['authentication', 'permission', 'about-the-app', 'per-app', 'rate-limit', 'late'])
    expect(chain.upstreamResponse.map(unit => unit.name)).toEqual(['late'])
    expect(chain.answersPreflight).toBe(true)
  })

  it('leaves out what an API does not configure, and keeps the per-app units in every chain', () => {
    const chain = policyChains(services, definitions, [perApp])(api({ early: { on: false } }), snapshot)
    expect(chain.http.map(unit => unit.name)).toEqual(['authentication', 'permission', 'per-app', 'upstream-concurrency', 'rate-limit'])
    expect(chain.answersPreflight).toBe(false)
  })

  it('places the registered policies: CORS then the IP restriction before authentication, the app IP restriction after permission', () => {
    const chain = policyChains(services)(api({ cors: { origins: '*' }, ipRestriction: { allow: ['10.0.0.0/8'] } }), snapshot)
    expect(chain.http.map(unit => unit.name)).toEqual(['cors', 'ip-restriction', 'authentication', 'permission', 'app-ip-restriction', 'upstream-concurrency', 'rate-limit'])
    expect(chain.websocket.map(unit => unit.name)).toEqual(['ip-restriction', 'authentication', 'permission', 'app-ip-restriction', 'rate-limit'])
  })

  it('lists the WebSocket units that judge open connections again, in chain order', () => {
    const recheckOpenConnection = (): undefined => undefined
    const rechecking = [
      marker('http-only', 'before-authentication', { transports: ['http'], recheckOpenConnection }),
      marker('about-the-app', 'after-permission', { recheckOpenConnection }),
      marker('late', 'before-proxy')
    ]
    const chain = policyChains(services, rechecking, [])(api({ 'http-only': { on: true }, 'about-the-app': { on: true }, late: { on: true } }), snapshot)
    expect(chain.openConnectionChecks.map(unit => unit.name)).toEqual(['about-the-app'])
    expect(policyChains(services, rechecking, [])(api({}), snapshot).openConnectionChecks).toEqual([])
    const registered = policyChains(services)(api({ cors: { origins: '*' }, ipRestriction: { deny: ['10.0.0.0/8'] } }), snapshot)
    expect(registered.openConnectionChecks.map(unit => unit.name)).toEqual(['ip-restriction', 'app-ip-restriction'])
  })

  it('builds a chain once per compiled API, and anew for a recompiled one', () => {
    const chains = policyChains(services, definitions)
    const compiled = api({ early: { on: true } })
    expect(chains(compiled, snapshot)).toBe(chains(compiled, snapshot))
    expect(chains({ ...compiled }, snapshot)).not.toBe(chains(compiled, snapshot))
  })

  it('stops at the unit that answers, and at the one that refuses', async () => {
    const ran: string[] = []
    const context = { answered: false } as unknown as PolicyContext & { answered: boolean }
    const unit = (name: string, action?: () => void): PolicyUnit => ({ name, access () { ran.push(name); action?.() } })
    await runPolicies([unit('a'), unit('b', () => { context.answered = true }), unit('c')], context)
    expect(ran).toEqual(['a', 'b'])
    ran.length = 0
    context.answered = false
    await expect(runPolicies([unit('a', () => { throw new Error('refused') }), unit('b')], context)).rejects.toThrow('refused')
    expect(ran).toEqual(['a'])
  })
})
