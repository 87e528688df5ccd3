import { describe, expect, it } from 'vitest'
import { normalizePath } from '../../../../src/gateway/routing/normalize-path.js'
import { compileRouteTable, PROXIED_METHODS, type RouteDefinition } from '../../../../src/gateway/routing/route-table.js'

function route (id: string, path: string, extra: Partial<RouteDefinition> = {}): RouteDefinition {
  return { id, apiId: `api-${id}`, methods: [], host: null, path, stripPrefix: false, websocket: false, ...extra }
}

const table = compileRouteTable([
  route('orders', '/v1/orders', { stripPrefix: true }),
  route('order-items', '/v1/orders/items'),
  route('order', '/v1/order'),
  route('admin', '/v1/admin'),
  route('orders-on-partner-host', '/v1/orders', { host: 'Partner.Example.com' }),
  route('reports-read', '/v1/reports', { methods: ['GET', 'HEAD'] }),
  route('reports-write', '/v1/reports', { methods: ['POST'], stripPrefix: true }),
  route('root-on-docs-host', '/', { host: 'docs.example.com', stripPrefix: true })
])

function matchId (method: string, host: string | undefined, path: string): string | undefined {
  return table.match(method, host, path)?.route.id
}

describe('compileRouteTable', () => {
  it('picks the longest matching prefix', () => {
    expect(matchId('GET', undefined, '/v1/orders/items/3')).toBe('order-items')
    expect(matchId('GET', undefined, '/v1/orders/7')).toBe('orders')
  })

  it('matches prefixes on segment boundaries only', () => {
    expect(matchId('GET', undefined, '/v1/order')).toBe('order')
    expect(matchId('GET', undefined, '/v1/order/1')).toBe('order')
    expect(matchId('GET', undefined, '/v1/orders')).toBe('orders')
    expect(matchId('GET', undefined, '/v1/ordersx')).toBeUndefined()
    expect(matchId('GET', undefined, '/v1/orders/itemsx')).toBe('orders')
  })

  it('prefers a host-specific route of the same length, comparing hosts without case or port', () => {
    expect(matchId('GET', 'partner.example.com', '/v1/orders/1')).toBe('orders-on-partner-host')
    expect(matchId('GET', 'PARTNER.example.COM:8443', '/v1/orders')).toBe('orders-on-partner-host')
    expect(matchId('GET', 'other.example.com', '/v1/orders')).toBe('orders')
    expect(matchId('GET', undefined, '/v1/orders')).toBe('orders')
  })

  it('lets a longer host-less prefix win over a shorter host-specific one', () => {
    expect(matchId('GET', 'partner.example.com', '/v1/orders/items')).toBe('order-items')
    expect(matchId('GET', 'docs.example.com', '/v1/admin/x')).toBe('admin')
  })

  it('falls back to a host-specific root prefix', () => {
    expect(table.match('GET', 'docs.example.com', '/guide/intro')).toMatchObject({ route: { id: 'root-on-docs-host' }, upstreamPath: '/guide/intro' })
    expect(matchId('GET', 'docs.example.com', '/')).toBe('root-on-docs-host')
    expect(matchId('GET', 'example.com', '/guide/intro')).toBeUndefined()
  })

  it('filters by method, an empty list allowing any', () => {
    expect(matchId('GET', undefined, '/v1/reports/daily')).toBe('reports-read')
    expect(matchId('post', undefined, '/v1/reports')).toBe('reports-write')
    expect(matchId('DELETE', undefined, '/v1/reports')).toBeUndefined()
    expect(matchId('PATCH', undefined, '/v1/orders/1')).toBe('orders')
  })

  it('lets HEAD through wherever GET is allowed', () => {
    const getOnly = compileRouteTable([route('read', '/v1/read', { methods: ['GET'] }), route('write', '/v1/write', { methods: ['post'] })])
    expect(getOnly.match('HEAD', undefined, '/v1/read/1')?.route.id).toBe('read')
    expect(getOnly.match('HEAD', undefined, '/v1/write')).toBeUndefined()
  })

  it('strips the prefix when asked, the result always starting with a slash', () => {
    expect(table.match('GET', undefined, '/v1/orders/7/lines')?.upstreamPath).toBe('/7/lines')
    expect(table.match('GET', undefined, '/v1/orders')?.upstreamPath).toBe('/')
    expect(table.match('GET', undefined, '/v1/orders/')?.upstreamPath).toBe('/')
    expect(table.match('GET', undefined, '/v1/admin/users')?.upstreamPath).toBe('/v1/admin/users')
  })

  it('normalises configured prefixes, so a trailing slash or odd spelling still matches', () => {
    const odd = compileRouteTable([route('odd', '//v1/%6Frders/', { stripPrefix: true })])
    expect(odd.match('GET', undefined, '/v1/orders/1')).toMatchObject({ route: { id: 'odd' }, upstreamPath: '/1' })
  })

  it('refuses to compile a prefix that is not a valid path', () => {
    expect(() => compileRouteTable([route('bad', '/v1/%2F')])).toThrow(/bad/)
  })

  it('matches nothing on an empty table', () => {
    expect(compileRouteTable([]).match('GET', undefined, '/')).toBeUndefined()
  })
})

describe('allowedMethods', () => {
  const methodTable = compileRouteTable([
    route('reports-read', '/v1/reports', { methods: ['GET'] }),
    route('reports-write', '/v1/reports', { methods: ['POST', 'OPTIONS'] }),
    route('daily-delete', '/v1/reports/daily', { methods: ['DELETE'] }),
    route('partner-put', '/v1/reports', { methods: ['PUT'], host: 'partner.example.com' }),
    route('anything', '/v2')
  ])

  it('lists every method a route on the path accepts, HEAD with GET, in a fixed order', () => {
    expect(methodTable.allowedMethods(undefined, '/v1/reports/weekly')).toEqual(['GET', 'HEAD', 'POST', 'OPTIONS'])
  })

  it('adds what shorter prefixes accept, as a request with those methods would reach them', () => {
    expect(methodTable.allowedMethods(undefined, '/v1/reports/daily/3')).toEqual(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'])
    expect(methodTable.match('POST', undefined, '/v1/reports/daily/3')?.route.id).toBe('reports-write')
  })

  it('counts the host-specific routes of the request host only', () => {
    expect(methodTable.allowedMethods('Partner.example.com:443', '/v1/reports')).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'])
    expect(methodTable.allowedMethods('other.example.com', '/v1/reports')).toEqual(['GET', 'HEAD', 'POST', 'OPTIONS'])
  })

  it('lists every proxied method for a route without a method list', () => {
    expect(methodTable.allowedMethods(undefined, '/v2/x')).toEqual([...PROXIED_METHODS])
  })

  it('is empty for a path no route covers, so that it stays a 404', () => {
    expect(methodTable.allowedMethods(undefined, '/v1/other')).toEqual([])
    expect(methodTable.allowedMethods(undefined, '/')).toEqual([])
    expect(compileRouteTable([]).allowedMethods(undefined, '/x')).toEqual([])
  })
})

describe('traversal attempts after normalizePath', () => {
  function resolve (rawPath: string): { id: string, upstreamPath: string } | 'BAD_PATH' | 'NO_ROUTE' {
    const path = normalizePath(rawPath)
    if (path === undefined) return 'BAD_PATH'
    const match = table.match('GET', undefined, path)
    return match === undefined ? 'NO_ROUTE' : { id: match.route.id, upstreamPath: match.upstreamPath }
  }

  it('never lets a path under /v1/orders reach another prefix through the orders route', () => {
    const attempts = [
      '/v1/orders/../admin',
      '/v1/orders/%2e%2e/admin',
      '/v1/orders/%2E%2E/%2E%2E/v1/admin',
      '/v1/orders/..%2f..%2fadmin',
      '/v1/orders/..%5c..%5cadmin',
      '/v1/orders/..;/admin',
      '/v1/orders/./../../../admin',
      '/v1/orders/.%2e/admin'
    ]
    for (const attempt of attempts) {
      const result = resolve(attempt)
      // either refused, or routed as what it really is: a request for /v1/admin,
      // which then needs the admin API's own grant
      if (typeof result !== 'string') {
        expect(result.id, attempt).not.toBe('orders')
        expect(result.upstreamPath, attempt).not.toMatch(/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c/i)
      }
    }
    expect(resolve('/v1/orders/../admin')).toEqual({ id: 'admin', upstreamPath: '/v1/admin' })
    expect(resolve('/v1/orders/..%2f..%2fadmin')).toBe('BAD_PATH')
  })

  it('routes a doubled leading slash like the single one', () => {
    expect(resolve('//v1/orders')).toEqual({ id: 'orders', upstreamPath: '/' })
    expect(resolve('//v1//orders//7')).toEqual({ id: 'orders', upstreamPath: '/7' })
  })

  it('keeps a stripped upstream path inside the prefix', () => {
    expect(resolve('/v1/orders/7/../8')).toEqual({ id: 'orders', upstreamPath: '/8' })
    expect(resolve('/v1/orders/7/../../orders/9')).toEqual({ id: 'orders', upstreamPath: '/9' })
  })
})
