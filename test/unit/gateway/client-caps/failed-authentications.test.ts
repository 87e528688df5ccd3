// Which failures are charged to which client, when a client is refused before authentication,
// for how long, and who is never refused.
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { AppSuspendedError, BadSignatureError, ExpiredTimestampError, ExpiredTokenError, InvalidTokenError, MissingCredentialsError, NotGrantedError, RateLimitedError, ReplayedNonceError, RouteNotFoundError, UnknownKeyError } from '../../../../src/domain/errors.js'
import { TrustedProxies } from '../../../../src/gateway/client-address.js'
import { FailedAuthentications } from '../../../../src/gateway/client-caps/failed-authentications.js'
import { MemoryFailureCounter, type FailureCounter } from '../../../../src/limits/failure-counter.js'

const WINDOW_MS = 60_000
/** the proxies of the throttle a test made last: how its requests name their client */
let proxies = new TrustedProxies([])

function client (peer: string, forwardedFor: string | undefined): { clientAddress: () => string } {
  const trusted = proxies
  return { clientAddress: () => trusted.clientAddress(peer, forwardedFor) }
}

function throttle (options: { maxPerClient?: number, trustedProxies?: string[], counter?: FailureCounter } = {}): { failed: FailedAuthentications, clock: { now: number } } {
  const clock = { now: Date.UTC(2026, 11, 2, 12) }
  proxies = new TrustedProxies(options.trustedProxies ?? [])
  const failed = new FailedAuthentications({
    maxPerClient: options.maxPerClient ?? 3,
    windowMs: WINDOW_MS,
    counter: options.counter ?? new MemoryFailureCounter(),
    trustedProxies: proxies,
    log: pino({ level: 'silent' }),
    now: () => clock.now
  })
  return { failed, clock }
}

/** The count is not waited for by the request; a test waits for it. */
async function settled (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

describe('failed authentications per client', () => {
  it('refuses a client before authentication once it failed the limit, with the rest of the window as Retry-After', async () => {
    const { failed, clock } = throttle()
    for (let attempt = 0; attempt < 2; attempt++) failed.chargeIfAuthenticationFailed(new BadSignatureError('x'), client('203.0.113.7', undefined))
    await settled()
    expect(failed.refusesBeforeAuth(client('203.0.113.7', undefined))).toBeUndefined()
    clock.now += 10_000
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('203.0.113.7', undefined))
    await settled()
    const refusal = failed.refusesBeforeAuth(client('203.0.113.7', undefined))
    expect(refusal).toMatchObject({ code: 'TOO_MANY_FAILED_AUTHENTICATIONS', statusCode: 429, responseHeaders: { 'retry-after': '50' } })
    expect(failed.refusesBeforeAuth(client('::ffff:203.0.113.7', undefined))?.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS')
    expect(failed.refusesBeforeAuth(client('203.0.113.8', undefined))).toBeUndefined()
    clock.now += 49_500
    expect(failed.refusesBeforeAuth(client('203.0.113.7', undefined))?.responseHeaders).toEqual({ 'retry-after': '1' })
    clock.now += 500
    expect(failed.refusesBeforeAuth(client('203.0.113.7', undefined))).toBeUndefined()
  })

  it('charges the answers of authentication only, not refusals after it or elsewhere', async () => {
    const { failed } = throttle({ maxPerClient: 1 })
    const authentication = [new MissingCredentialsError('x'), new UnknownKeyError(), new BadSignatureError('x'), new ExpiredTimestampError('x'), new ReplayedNonceError('n'), new InvalidTokenError('x'), new ExpiredTokenError()]
    const others = [new AppSuspendedError(), new NotGrantedError('api'), new RateLimitedError('1'), new RouteNotFoundError('GET', '/'), new Error('no code')]
    for (const [index, error] of others.entries()) failed.chargeIfAuthenticationFailed(error, client(`198.51.100.${index}`, undefined))
    for (const [index, error] of authentication.entries()) failed.chargeIfAuthenticationFailed(error, client(`203.0.113.${index}`, undefined))
    await settled()
    expect(others.map((_error, index) => failed.refusesBeforeAuth(client(`198.51.100.${index}`, undefined)))).toEqual(others.map(() => undefined))
    expect(authentication.map((_error, index) => failed.refusesBeforeAuth(client(`203.0.113.${index}`, undefined))?.code)).toEqual(authentication.map(() => 'TOO_MANY_FAILED_AUTHENTICATIONS'))
  })

  it('charges the client behind trusted proxies, never a trusted proxy itself', async () => {
    const { failed } = throttle({ maxPerClient: 1, trustedProxies: ['10.0.0.0/8'] })
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('10.0.0.1', '203.0.113.7'))
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('10.0.0.2', undefined))
    await settled()
    expect(failed.refusesBeforeAuth(client('10.0.0.3', '203.0.113.7'))?.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS')
    expect(failed.refusesBeforeAuth(client('10.0.0.3', '203.0.113.8'))).toBeUndefined()
    expect(failed.refusesBeforeAuth(client('10.0.0.2', undefined))).toBeUndefined()
    // X-Forwarded-For from a peer that is not a trusted proxy names nobody: the peer is charged
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('198.51.100.1', '203.0.113.9'))
    await settled()
    expect(failed.refusesBeforeAuth(client('10.0.0.1', '203.0.113.9'))).toBeUndefined()
    expect(failed.refusesBeforeAuth(client('198.51.100.1', undefined))?.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS')
  })

  it('charges IPv6 clients per /64', async () => {
    const { failed } = throttle({ maxPerClient: 2 })
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('2001:db8:1:2::1', undefined))
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('2001:db8:1:2:ffff::9', undefined))
    await settled()
    expect(failed.refusesBeforeAuth(client('2001:db8:1:2::abcd', undefined))?.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS')
    expect(failed.refusesBeforeAuth(client('2001:db8:1:3::1', undefined))).toBeUndefined()
  })

  it('refuses nobody when switched off', async () => {
    const { failed } = throttle({ maxPerClient: 0 })
    for (let attempt = 0; attempt < 100; attempt++) failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('203.0.113.7', undefined))
    await settled()
    expect(failed.refusesBeforeAuth(client('203.0.113.7', undefined))).toBeUndefined()
  })

  it('keeps answering when the count cannot be taken', async () => {
    const { failed } = throttle({ maxPerClient: 1, counter: { increment: async () => { throw new Error('script failed') }, close: async () => {} } })
    failed.chargeIfAuthenticationFailed(new UnknownKeyError(), client('203.0.113.7', undefined))
    await settled()
    expect(failed.refusesBeforeAuth(client('203.0.113.7', undefined))).toBeUndefined()
  })
})
