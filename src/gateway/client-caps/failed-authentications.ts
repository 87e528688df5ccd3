// A client whose requests keep failing authentication (guessing keys or secrets, replaying,
// or just misconfigured and hammering) is refused before authentication runs, so that its
// requests cost no signature, token or nonce check. Failures are charged to the client's
// address (X-Forwarded-For through trusted proxies; IPv6 per /64, see client-key.ts) in a
// fixed window, cluster-wide through the limit backends; successes are never charged. The
// clients over the limit are kept here, in memory, refreshed as failures are charged: the
// check on every request is one Map lookup, and nothing at all while no client is refused.
// Another node learns of a client over the limit with that client's next failure there.
import type { FastifyBaseLogger } from 'fastify'
import { BadSignatureError, ExpiredTimestampError, ExpiredTokenError, InvalidTokenError, MissingCredentialsError, ReplayedNonceError, TooManyFailedAuthenticationsError, UnknownKeyError } from '../../domain/errors.js'
import type { FailureCounter } from '../../limits/failure-counter.js'
import type { TrustedProxies } from '../client-address.js'
import { clientKey } from './client-key.js'

/** The answers of authentication itself (401); a refusal after it (suspended app, no grant) is not a failed authentication. */
const AUTHENTICATION_FAILURES = new Set<string>([MissingCredentialsError, UnknownKeyError, BadSignatureError, ExpiredTimestampError, ReplayedNonceError, InvalidTokenError, ExpiredTokenError].map(ErrorClass => new ErrorClass().code))

export type ClientRefusal = InstanceType<typeof TooManyFailedAuthenticationsError> & { responseHeaders: Record<string, string> }

/** A request that knows its client's address (X-Forwarded-For through trusted proxies): the policy context. */
export interface ClientAddressed {
  clientAddress: () => string
}

export interface FailedAuthenticationOptions {
  /** failures allowed per client and window; 0 = off */
  maxPerClient: number
  windowMs: number
  counter: FailureCounter
  trustedProxies: TrustedProxies
  log: FastifyBaseLogger
  now?: () => number
}

export class FailedAuthentications {
  readonly #options: FailedAuthenticationOptions
  readonly #now: () => number
  /** client → when its window ends (ms) */
  readonly #refused = new Map<string, number>()
  #nextSweepMs = 0

  constructor (options: FailedAuthenticationOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** The refusal for a client over the limit (429 with Retry-After), else undefined; before authentication. */
  refusesBeforeAuth (client: ClientAddressed): ClientRefusal | undefined {
    if (this.#refused.size === 0) return undefined
    const now = this.#now()
    if (now >= this.#nextSweepMs) this.#sweep(now)
    const endsAtMs = this.#refused.get(clientKey(client.clientAddress()))
    if (endsAtMs === undefined || endsAtMs <= now) return undefined
    const seconds = String(Math.max(1, Math.ceil((endsAtMs - now) / 1000)))
    return Object.assign(new TooManyFailedAuthenticationsError(seconds), { responseHeaders: { 'retry-after': seconds } })
  }

  /** Charges the request's client when `error` is a failed authentication; does not wait for the count. */
  chargeIfAuthenticationFailed (error: Error & { code?: string }, client: ClientAddressed): void {
    const { maxPerClient, windowMs, counter, trustedProxies, log } = this.#options
    if (maxPerClient === 0 || error.code === undefined || !AUTHENTICATION_FAILURES.has(error.code)) return
    const address = client.clientAddress()
    // a trusted proxy speaking for itself carries everyone behind it: refusing it would refuse them all
    if (address === '' || trustedProxies.trusts(address)) return
    const key = clientKey(address)
    counter.increment(key, windowMs, this.#now()).then(({ count, resetInMs }) => {
      if (count >= maxPerClient) this.#refused.set(key, this.#now() + resetInMs)
    }, (failure: unknown) => {
      log.warn({ err: failure }, 'could not count a failed authentication')
    })
  }

  #sweep (now: number): void {
    for (const [client, endsAtMs] of this.#refused) if (endsAtMs <= now) this.#refused.delete(client)
    this.#nextSweepMs = now + Math.min(this.#options.windowMs, 1000)
  }
}
