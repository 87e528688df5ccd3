// Routes derived from a document's paths, and the prefixes an operator must give instead.
import { describe, expect, it } from 'vitest'
import { deriveRoutes } from '../../../../src/control/services/openapi-import.js'

const ok = { responses: { 200: { description: 'ok' } } }

describe('deriveRoutes', () => {
  it('gives one route per first segment with the methods used below it', () => {
    expect(deriveRoutes({ paths: { '/pets/{id}': { get: ok, delete: ok }, '/pets': { post: ok }, '/stores': { get: ok }, '/empty': {} } })).toEqual([
      { path: '/pets', methods: ['DELETE', 'GET', 'POST'] },
      { path: '/stores', methods: ['GET'] }
    ])
  })

  it('refuses paths starting with a template or at the root, suggesting a prefix from the name', () => {
    expect(() => deriveRoutes({ paths: { '/{tenant}/orders': { get: ok } } }, { name: 'Tenant Orders!' })).toThrow(/starts with a template \(\{tenant\}\).*basePath=\/tenant-orders: partners then call \/tenant-orders\/\{tenant\}\/orders/)
    expect(() => deriveRoutes({ paths: { '/': { get: ok } } })).toThrow(/starts with the root.*basePath=\/my-api/)
  })

  it('serves every path under a basePath as one route, or the templated ones at / when asked', () => {
    const paths = { '/{tenant}/orders': { get: ok }, '/health': { post: ok } }
    expect(deriveRoutes({ paths }, { basePath: '/shop' })).toEqual([{ path: '/shop', methods: ['GET', 'POST'] }])
    expect(deriveRoutes({ paths }, { catchAll: true })).toEqual([{ path: '/', methods: ['GET'] }, { path: '/health', methods: ['POST'] }])
  })

  it('refuses paths under the gateway\'s own endpoints', () => {
    expect(() => deriveRoutes({ paths: { '/metrics/cpu': { get: ok } } })).toThrow(/below \/metrics, which the gateway answers itself/)
  })
})
