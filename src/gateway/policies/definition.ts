// What a configurable policy is: its configuration schema (the one the control API validates
// with), the checks the schema cannot express, and the unit it compiles to for one API.
// The registry (registry.ts) lists them; the chain builder (build-chain.ts) places them.
import type { TSchema } from 'typebox'
import type { Config } from '../../config/schema.js'
import type { LimitBackends } from '../../limits/index.js'
import type { UpstreamPools } from '../proxy/upstream-pool.js'
import type { CompiledApi, GatewaySnapshot } from '../snapshot/compile.js'
import type { UsageRecorder } from '../usage/usage-recorder.js'
import type { PolicyUnit } from './chain.js'
import type { ResponseCacheStore } from './response-cache/stores.js'

/** What the units need of the running gateway, given once when the gateway starts. */
export interface ChainServices {
  config: Config
  limits: LimitBackends
  usage: UsageRecorder
  pools: UpstreamPools
  /** where the response cache keeps answers: one per gateway process, shared by its APIs' chains */
  responseCache: ResponseCacheStore
  /** the `iss` access tokens must carry */
  tokenIssuer: string
}

/**
 * Where a configurable unit runs, around the fixed ones (authentication → permission →
 * upstream concurrency → rate limit and quota): refusals that need no credential come
 * before authentication and so cost an attacker nothing; those about the app come after
 * permission; answers in the upstream's place come last, once the call has been counted.
 */
export type PolicyPhase = 'before-authentication' | 'after-permission' | 'before-proxy'

export interface ApiPolicyDefinition<Configuration = any> {
  /** the API's field in the control API and its key in the stored policies */
  readonly name: string
  readonly schema: TSchema
  readonly description: string
  readonly phase: PolicyPhase
  /** what the schema cannot say (values that allow nothing, or too much); undefined = fine */
  readonly problem?: (config: Configuration) => string | undefined
  /** the configuration as stored (e.g. lowercased origins) */
  readonly normalise?: (config: Configuration) => Configuration
  /** the unit for one API; undefined when it needs none. `config` is undefined when the API has none. */
  readonly compile: (config: Configuration | undefined, api: CompiledApi, snapshot: GatewaySnapshot, services: ChainServices) => PolicyUnit | undefined
}
