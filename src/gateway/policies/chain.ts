// The policy chain: what the gateway does to a request between routing it and proxying it,
// as an ordered list of units (Kong's and APISIX's plugins). Each API's list is built once
// per compiled API (policies/build-chain.ts); the HTTP handler and the WebSocket upgrade
// walk the same units through the same context, so a new policy is a new unit in
// src/gateway/policies/<name>/ and a line in the registry, never an edit of either path.
import type { IncomingHttpHeaders } from 'node:http'
import type { Outcome } from '../../observability/gateway-metrics.js'
import { endSpan, type RequestSpans } from '../../observability/tracing.js'
import type { SnapshotApp } from '../../store/config-snapshot.js'
import { joinTaps, type ResponseBodyTap } from '../proxy/body-tap.js'
import type { RouteMatch } from '../routing/route-table.js'
import type { CompiledApi, CompiledGrant, GatewaySnapshot } from '../snapshot/compile.js'

export type Transport = 'http' | 'websocket'

/** How a request a unit answered itself ends up in the metrics and the access log. */
export type AnsweredOutcome = Extract<Outcome, 'preflight' | 'cached'>

/** One request (or WebSocket upgrade) as the units see it, and what they learn of it. */
export interface PolicyContext {
  readonly transport: Transport
  readonly method: string
  /** the request target as authentication reads it (for a WebSocket signed in its query: the URL it signed) */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** the request target and header lines (names and values alternating) as the client sent them, before a signed query is read out of them */
  readonly rawUrl: string
  readonly rawHeaders: readonly string[]
  /** the normalised path the route matched */
  readonly path: string
  readonly snapshot: GatewaySnapshot
  readonly api: CompiledApi
  readonly match: RouteMatch
  /** set by authentication */
  appId: string | undefined
  credentialKey: string | undefined
  /** request headers that carried the credentials: never forwarded */
  credentialHeaders: readonly string[]
  /** set by permission */
  app: SnapshotApp | undefined
  grant: CompiledGrant | undefined
  /** the grant's plan while the rate limit decides: a refusal then counts against it in the metrics */
  limitingPlan: string | undefined
  /** the rate limit and quota allowed the call (counted in the metrics against limitingPlan, then cleared) */
  limitsAllowed: () => void
  /** true once a unit answered in the upstream's place (a preflight, a cached response): the chain stops */
  readonly answered: boolean
  /** the client's address: the peer's, or X-Forwarded-For's when the peer is a trusted proxy */
  clientAddress: () => string
  setResponseHeader: (name: string, value: string) => void
  setResponseHeaders: (headers: Readonly<Record<string, string>>) => void
  /** the request body, read once and bounded (HTTP; a WebSocket upgrade has none) */
  readBody: () => Promise<Buffer>
  /**
   * caps the body while it streams to the upstream (HTTP): past maxBytes the upstream request
   * is aborted and the client gets 413, or a cut connection once the answer has started. The
   * lowest cap holds. A body that announces a larger length is the unit's to refuse up front.
   */
  limitBody: (maxBytes: number) => void
  /** answers the request in the upstream's place (HTTP only); `outcome` is what the metrics and the access log call it */
  answer: (statusCode: number, headers: Readonly<Record<string, string>>, body: string | Buffer | undefined, outcome: AnsweredOutcome) => void
  /** runs when the request ended, however it ended: for units that hold something (a slot) while it runs */
  onEnd: (release: () => void) => void
}

/**
 * An open connection (a WebSocket) as a unit judges it again after a configuration change:
 * what its upgrade established, and the current records of its API, app and grant.
 */
export interface OpenConnection {
  /** the client's address as the upgrade computed it (X-Forwarded-For only from a trusted proxy) */
  readonly clientAddress: string
  readonly snapshot: GatewaySnapshot
  readonly api: CompiledApi
  readonly app: SnapshotApp
  readonly grant: CompiledGrant
}

/** Why an open connection may not stay open: the close reason its client reads (at most 123 bytes) and the metrics' label for it. */
export interface ConnectionRefusal {
  readonly reason: string
  readonly label: string
}

export interface PolicyUnit {
  readonly name: string
  /** the transports the unit applies to; absent = both */
  readonly transports?: readonly Transport[]
  /** the unit answers CORS preflights: those are routed by the method they ask for */
  readonly answersPreflight?: boolean
  /** refuses by throwing a catalogue error (src/domain/errors.ts); may answer through the context */
  access: (context: PolicyContext) => void | Promise<void>
  /**
   * the upstream's response status and headers, before they are sent: a unit may rewrite the
   * headers, and return a tap to see the body as it streams to the client
   */
  upstreamResponse?: (context: PolicyContext, statusCode: number, headers: IncomingHttpHeaders) => ResponseBodyTap | undefined | void
  /**
   * For a unit whose decision concerns the connection (who calls, from where) rather than one
   * message, and may change while a WebSocket stays open: judges an open connection against the
   * current configuration, and says why it may not stay open (it is closed with 1008). Asked
   * whenever a change gave the connection's API, app or grant a new record, for every such
   * connection at once, so synchronous and cheap. Never asked per message.
   */
  recheckOpenConnection?: (connection: OpenConnection) => ConnectionRefusal | undefined
}

export interface PolicyChain {
  readonly http: readonly PolicyUnit[]
  readonly websocket: readonly PolicyUnit[]
  /** the HTTP units that look at the upstream's response */
  readonly upstreamResponse: readonly PolicyUnit[]
  /** a unit answers CORS preflights for the API: an OPTIONS preflight is routed by the method it asks for */
  readonly answersPreflight: boolean
  /** the WebSocket units that judge open connections again when the configuration changes */
  readonly openConnectionChecks: readonly PolicyUnit[]
}

/**
 * Runs the units in order until one refuses (throws) or answers. Synchronous units cost no
 * promise. With tracing on, each unit is a phase of the request's trace; the one that refused
 * is left open, and the trace's end marks it with the error.
 */
export async function runPolicies (units: readonly PolicyUnit[], context: PolicyContext, spans?: RequestSpans): Promise<void> {
  for (let index = 0; index < units.length; index++) {
    const unit = units[index]
    const span = spans?.startPhase(unit.name)
    const pending = unit.access(context)
    if (pending !== undefined) await pending
    endSpan(span)
    if (context.answered) return
  }
}

/** Shows the upstream's response to the units that look at it; the taps they return, as one. */
export function upstreamResponded (units: readonly PolicyUnit[], context: PolicyContext, statusCode: number, headers: IncomingHttpHeaders): ResponseBodyTap | undefined {
  let tap: ResponseBodyTap | undefined
  for (let index = 0; index < units.length; index++) {
    const unitTap = units[index].upstreamResponse?.(context, statusCode, headers)
    if (unitTap !== undefined) tap = tap === undefined ? unitTap : joinTaps(tap, unitTap)
  }
  return tap
}

/** Why the first unit that refuses the open connection does; undefined when every one admits it. */
export function openConnectionRefusal (units: readonly PolicyUnit[], connection: OpenConnection): ConnectionRefusal | undefined {
  for (let index = 0; index < units.length; index++) {
    const refusal = units[index].recheckOpenConnection?.(connection)
    if (refusal !== undefined) return refusal
  }
  return undefined
}
