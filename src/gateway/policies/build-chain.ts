// Builds each API's policy chain from the registry and the fixed units, once per compiled
// API: a snapshot that keeps an API's compiled object keeps its chain, one that replaces it
// (its routing part changed) gets a new chain on the first request that needs it.
import type { CompiledApi, GatewaySnapshot } from '../snapshot/compile.js'
import { authenticationUnit } from './authentication/index.js'
import type { PolicyChain, PolicyUnit, Transport } from './chain.js'
import type { ApiPolicyDefinition, AppPolicyDefinition, ChainServices, PolicyPhase } from './definition.js'
import { permissionUnit } from './permission/index.js'
import { rateLimitUnit } from './rate-limit/index.js'
import { API_POLICIES, APP_POLICIES } from './registry.js'
import { upstreamConcurrencyUnit } from './upstream-concurrency/index.js'

export type PolicyChains = (api: CompiledApi, snapshot: GatewaySnapshot) => PolicyChain

export function policyChains (services: ChainServices, definitions: readonly ApiPolicyDefinition[] = API_POLICIES, appDefinitions: readonly AppPolicyDefinition[] = APP_POLICIES): PolicyChains {
  const authentication = authenticationUnit(services)
  const upstreamConcurrency = upstreamConcurrencyUnit(services)
  const rateLimit = rateLimitUnit(services)
  const chains = new WeakMap<CompiledApi, PolicyChain>()

  function configured (phase: PolicyPhase, api: CompiledApi, snapshot: GatewaySnapshot): PolicyUnit[] {
    const units: PolicyUnit[] = []
    for (const definition of definitions) {
      if (definition.phase !== phase) continue
      const unit = definition.compile(api.policies[definition.name] ?? undefined, api, snapshot, services)
      if (unit !== undefined) units.push(unit)
    }
    for (const definition of appDefinitions) {
      if (definition.phase !== phase) continue
      const unit = definition.compile(api, snapshot, services)
      if (unit !== undefined) units.push(unit)
    }
    return units
  }

  function build (api: CompiledApi, snapshot: GatewaySnapshot): PolicyChain {
    const units = [
      ...configured('before-authentication', api, snapshot),
      authentication,
      permissionUnit,
      ...configured('after-permission', api, snapshot),
      upstreamConcurrency,
      rateLimit,
      ...configured('before-proxy', api, snapshot)
    ]
    const forTransport = (transport: Transport): PolicyUnit[] => units.filter(unit => unit.transports === undefined || unit.transports.includes(transport))
    const websocket = forTransport('websocket')
    return {
      http: forTransport('http'),
      websocket,
      upstreamResponse: units.filter(unit => unit.upstreamResponse !== undefined),
      answersPreflight: units.some(unit => unit.answersPreflight === true),
      openConnectionChecks: websocket.filter(unit => unit.recheckOpenConnection !== undefined)
    }
  }

  return (api, snapshot) => {
    let chain = chains.get(api)
    if (chain === undefined) {
      chain = build(api, snapshot)
      chains.set(api, chain)
    }
    return chain
  }
}
