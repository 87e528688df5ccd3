// An API's response-cache configuration: what the schema and the checks refuse, how it is
// stored, and which of the API's routes it applies to (by path and host, whatever their ids).
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { cachedRouteSettings, normaliseResponseCacheConfig, ResponseCacheConfig, responseCacheConfigProblem, routeName } from '../../../../../src/gateway/policies/response-cache/config.js'

const schema = Compile(ResponseCacheConfig)

describe('response-cache configuration', () => {
  it.each([
    [{ routes: [{ path: '/orders' }] }],
    [{ routes: [{ path: '/orders', host: 'API.example.com', ttlSeconds: 5, public: true }, { path: '/' }], ttlSeconds: 600, maxBodyBytes: 65_536, public: false }]
  ])('accepts %j', config => {
    expect(schema.Check(config)).toBe(true)
    expect(responseCacheConfigProblem(config as ResponseCacheConfig)).toBeUndefined()
  })

  it.each([
    [{ routes: [] }, 'no route'],
    [{}, 'no routes field'],
    [{ routes: [{ path: 'orders' }] }, 'a path without a leading slash'],
    [{ routes: [{ path: '/orders', host: 'a b' }] }, 'a host with a space'],
    [{ routes: [{ path: '/orders', ttlSeconds: 0 }] }, 'a TTL of zero'],
    [{ routes: [{ path: '/orders' }], maxBodyBytes: 16_777_217 }, 'bodies over 16 MiB'],
    [{ routes: [{ path: '/orders', id: 'x' }] }, 'an unknown route field'],
    [{ routes: [{ path: '/orders' }], store: 'redis' }, 'an unknown field']
  ])('refuses %j (%s)', (config, _reason) => {
    expect(schema.Check(config)).toBe(false)
  })

  it('refuses a route listed twice, however it is spelled', () => {
    expect(responseCacheConfigProblem({ routes: [{ path: '/orders' }, { path: '/orders/' }] })).toMatch(/lists \/orders twice/)
    expect(responseCacheConfigProblem({ routes: [{ path: '/orders', host: 'A.example.com' }, { path: '/orders', host: 'a.example.com' }] })).toMatch(/twice/)
    expect(responseCacheConfigProblem({ routes: [{ path: '/orders', host: 'a.example.com' }, { path: '/orders' }] })).toBeUndefined()
  })

  it('stores paths without a trailing slash and hosts lowercased, as routes are', () => {
    expect(normaliseResponseCacheConfig({ routes: [{ path: '/orders/', host: 'API.Example.com' }, { path: '/', host: null }], ttlSeconds: 5 }))
      .toEqual({ routes: [{ path: '/orders', host: 'api.example.com' }, { path: '/' }], ttlSeconds: 5 })
  })

  it('names each listed route by host and prefix as routes are stored, with the API-wide settings as defaults', () => {
    const settings = cachedRouteSettings({ routes: [{ path: '/orders/' }, { path: '/stock', host: 'Shop.example.com', ttlSeconds: 5, public: true }], ttlSeconds: 120, maxBodyBytes: 1000 }, 3600)
    expect([...settings]).toEqual([
      ['/orders', { name: '/orders', freshness: { defaultTtlSeconds: 120, maxTtlSeconds: 3600 }, maxBodyBytes: 1000, public: false }],
      ['shop.example.com/stock', { name: 'shop.example.com/stock', freshness: { defaultTtlSeconds: 5, maxTtlSeconds: 3600 }, maxBodyBytes: 1000, public: true }]
    ])
    // a route as the snapshot holds it finds its entry by the same name; one with another host does not
    expect(settings.get(routeName('shop.example.com', '/stock'))?.public).toBe(true)
    expect(settings.get(routeName(null, '/stock'))).toBeUndefined()
  })

  it('defaults to a minute and 1 MiB', () => {
    expect(cachedRouteSettings({ routes: [{ path: '/orders' }] }, 86_400).get('/orders'))
      .toEqual({ name: '/orders', freshness: { defaultTtlSeconds: 60, maxTtlSeconds: 86_400 }, maxBodyBytes: 1_048_576, public: false })
  })
})
