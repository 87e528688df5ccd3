// The CORS policy's pure logic: which configurations are refused, which origins get in,
// what a preflight and an actual response carry, and how the upstream's headers give way.
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import {
  actualResponseHeaders, compileCorsPolicy, corsConfigProblem, CorsConfig, normaliseCorsConfig, preflightHeaders, preflightMethod, upstreamHeaderUnderCors
} from '../../../../../src/gateway/policies/cors/cors.js'

const PORTAL = 'https://portal.example.com'
const schema = Compile(CorsConfig)

describe('CORS configuration', () => {
  it.each([
    [{ origins: '*' }],
    [{ origins: ['https://app.example.com', 'http://127.0.0.1:5173', 'http://[::1]:8080'] }],
    [{ origins: [], portal: true, methods: ['GET', 'POST'], headers: ['X-Api-Key', 'Content-Type'], exposeHeaders: ['X-Trace'], credentials: true, maxAgeSeconds: 0 }]
  ])('accepts %j', config => {
    expect(schema.Check(config)).toBe(true)
    expect(corsConfigProblem(config as CorsConfig)).toBeUndefined()
  })

  it.each([
    [{ origins: ['https://app.example.com/'] }, 'an origin with a path'],
    [{ origins: ['app.example.com'] }, 'an origin without a scheme'],
    [{ origins: ['ftp://app.example.com'] }, 'another scheme'],
    [{ origins: '**' }, 'a pattern'],
    [{ origins: '*', methods: ['TRACE'] }, 'a method the gateway does not proxy'],
    [{ origins: '*', headers: ['X Api'] }, 'a header name with a space'],
    [{ origins: '*', maxAgeSeconds: 86_401 }, 'a max age over a day'],
    [{ origins: '*', allowOrigins: ['x'] }, 'an unknown field']
  ] as Array<[unknown, string]>)('refuses %j (%s) by schema', config => {
    expect(schema.Check(config)).toBe(false)
  })

  it('refuses credentials for any origin, and a list that allows no origin', () => {
    expect(corsConfigProblem({ origins: '*', credentials: true })).toMatch(/credentials cannot be combined/)
    expect(corsConfigProblem({ origins: [] })).toMatch(/no origin would be allowed/)
    expect(corsConfigProblem({ origins: [], portal: false })).toMatch(/no origin would be allowed/)
  })

  it('stores origins lowercased', () => {
    expect(normaliseCorsConfig({ origins: ['HTTPS://App.Example.COM'] }).origins).toEqual(['https://app.example.com'])
    expect(normaliseCorsConfig({ origins: '*' }).origins).toBe('*')
  })
})

describe('preflight', () => {
  it('is an OPTIONS with an Origin asking for a method, nothing else', () => {
    expect(preflightMethod('OPTIONS', { origin: PORTAL, 'access-control-request-method': 'post' })).toBe('POST')
    expect(preflightMethod('OPTIONS', { origin: PORTAL })).toBeUndefined()
    expect(preflightMethod('OPTIONS', { 'access-control-request-method': 'POST' })).toBeUndefined()
    expect(preflightMethod('GET', { origin: PORTAL, 'access-control-request-method': 'POST' })).toBeUndefined()
  })

  it('allows a listed origin with the configured methods, headers and max age', () => {
    const policy = compileCorsPolicy({ origins: ['https://app.example.com'], methods: ['GET', 'POST'], headers: ['X-Api-Key'], maxAgeSeconds: 60 }, null)
    expect(preflightHeaders(policy, 'https://app.example.com', 'x-api-key, x-other')).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'X-Api-Key',
      'access-control-max-age': '60',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'
    })
  })

  it('allows the headers the browser asks for when none are configured, and says nothing of headers when none are asked', () => {
    const policy = compileCorsPolicy({ origins: '*' }, null)
    expect(preflightHeaders(policy, PORTAL, 'x-ca-key,x-ca-signature')?.['access-control-allow-headers']).toBe('x-ca-key,x-ca-signature')
    expect(preflightHeaders(policy, PORTAL, undefined)).not.toHaveProperty('access-control-allow-headers')
    expect(preflightHeaders(policy, PORTAL, undefined)).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE', 'access-control-max-age': '600' })
  })

  it('refuses an origin not listed, also one that only differs by port or scheme', () => {
    const policy = compileCorsPolicy({ origins: ['https://app.example.com'] }, null)
    expect(preflightHeaders(policy, 'https://evil.example.com', undefined)).toBeUndefined()
    expect(preflightHeaders(policy, 'https://app.example.com:8443', undefined)).toBeUndefined()
    expect(preflightHeaders(policy, 'http://app.example.com', undefined)).toBeUndefined()
    expect(preflightHeaders(policy, 'null', undefined)).toBeUndefined()
  })

  it('allows the portal origin only when the API opts in and the setting is there', () => {
    expect(preflightHeaders(compileCorsPolicy({ origins: [], portal: true }, PORTAL), PORTAL, undefined)?.['access-control-allow-origin']).toBe(PORTAL)
    expect(preflightHeaders(compileCorsPolicy({ origins: [], portal: true }, 'HTTPS://Portal.Example.com'), PORTAL, undefined)?.['access-control-allow-origin']).toBe(PORTAL)
    expect(preflightHeaders(compileCorsPolicy({ origins: ['https://app.example.com'] }, PORTAL), PORTAL, undefined)).toBeUndefined()
    expect(preflightHeaders(compileCorsPolicy({ origins: [], portal: true }, null), PORTAL, undefined)).toBeUndefined()
  })

  it('echoes the origin and allows credentials when credentials are on', () => {
    const policy = compileCorsPolicy({ origins: ['https://app.example.com'], credentials: true }, null)
    expect(preflightHeaders(policy, 'https://app.example.com', undefined)).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true' })
  })
})

describe('actual responses', () => {
  it('let an allowed origin read the response, the error and rate-limit headers included', () => {
    const policy = compileCorsPolicy({ origins: ['https://app.example.com'], exposeHeaders: ['X-Trace'] }, null)
    const headers = actualResponseHeaders(policy, 'https://app.example.com')
    expect(headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', vary: 'Origin' })
    expect(headers?.['access-control-expose-headers'].split(', ')).toEqual(expect.arrayContaining(['x-ca-error-message', 'retry-after', 'ratelimit', 'x-ratelimit-remaining', 'x-quota-remaining-day', 'www-authenticate', 'x-trace']))
    expect(headers).not.toHaveProperty('access-control-allow-credentials')
  })

  it('give another origin nothing to read, but still say the answer varies by Origin', () => {
    const policy = compileCorsPolicy({ origins: ['https://app.example.com'] }, null)
    expect(actualResponseHeaders(policy, 'https://evil.example.com')).toEqual({ vary: 'Origin' })
    expect(actualResponseHeaders(policy, undefined)).toEqual({ vary: 'Origin' })
  })

  it('answer "*" without Vary when any origin may read and no credentials are involved', () => {
    const policy = compileCorsPolicy({ origins: '*' }, null)
    expect(actualResponseHeaders(policy, 'https://anyone.example')).toMatchObject({ 'access-control-allow-origin': '*' })
    expect(actualResponseHeaders(policy, 'https://anyone.example')).not.toHaveProperty('vary')
    expect(actualResponseHeaders(policy, undefined)).toBeUndefined()
  })
})

describe('upstream headers under a gateway CORS policy', () => {
  it("drop the upstream's own Access-Control-* headers and merge its Vary with the gateway's", () => {
    expect(upstreamHeaderUnderCors('access-control-allow-origin', '*', 'Origin')).toBeUndefined()
    expect(upstreamHeaderUnderCors('access-control-expose-headers', 'x-a', undefined)).toBeUndefined()
    expect(upstreamHeaderUnderCors('vary', 'Accept-Encoding', 'Origin')).toBe('Accept-Encoding, Origin')
    expect(upstreamHeaderUnderCors('vary', 'Accept-Encoding', undefined)).toBe('Accept-Encoding')
    expect(upstreamHeaderUnderCors('content-type', 'application/json', 'Origin')).toBe('application/json')
  })
})
