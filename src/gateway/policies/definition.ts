// What a configurable policy is: its configuration schema (the one the control API validates
// with), the checks the schema cannot express, and the unit it compiles to for one API.
// The registry (registry.ts) lists them; the chain builder (build-chain.ts) places them.
import type { TSchema } from 'typebox'
import type { Config } from '../../config/schema.js'
import type { FailedAuthentications } from '../client-caps/failed-authentications.js'
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
  /** clients whose authentications keep failing, refused before authentication runs */
  failedAuthentications: FailedAuthentications
}

/**
 * Where a configurable unit runs, around the fixed ones (authentication → permission →
 * upstream concurrency → rate limit and quota): refusals that need no credential come
 * before authentication and so cost an attacker nothing; those about the app come after
 * permission; answers in the upstream's place come last, once the call has been counted.
 */
export type PolicyPhase = 'before-authentication' | 'after-permission' | 'before-proxy'

/** A policy's configuration, as the control API takes and stores it. */
export interface PolicySettingDefinition<Configuration = any> {
  /** the field in the control API and the key in the stored policies */
  readonly name: string
  readonly schema: TSchema
  readonly description: string
  /** what the schema cannot say (values that allow nothing, or too much); undefined = fine */
  readonly problem?: (config: Configuration) => string | undefined
  /** the configuration as stored (e.g. lowercased origins) */
  readonly normalise?: (config: Configuration) => Configuration
}

export interface ApiPolicyDefinition<Configuration = any> extends PolicySettingDefinition<Configuration> {
  readonly phase: PolicyPhase
  /** the unit for one API; undefined when it needs none. `config` is undefined when the API has none. */
  readonly compile: (config: Configuration | undefined, api: CompiledApi, snapshot: GatewaySnapshot, services: ChainServices) => PolicyUnit | undefined
}

/**
 * A policy configured per app (App.policies). Apps change without their APIs' chains being
 * rebuilt, so its unit is in every API's chain, once the app is known, and reads the app's
 * configuration (context.app.policies) on each request.
 */
export interface AppPolicyDefinition<Configuration = any> extends PolicySettingDefinition<Configuration> {
  readonly phase: Exclude<PolicyPhase, 'before-authentication'>
  /** the unit for one API; undefined when it needs none */
  readonly compile: (api: CompiledApi, snapshot: GatewaySnapshot, services: ChainServices) => PolicyUnit | undefined
}
