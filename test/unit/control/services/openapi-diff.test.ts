// Reconciling an API's routes with a new document version, and the diff of two versions.
import { describe, expect, it } from 'vitest'
import { documentDiff, reconcileRoutes, type CurrentRoute } from '../../../../src/control/services/openapi-diff.js'

const route = (id: string, path: string, methods: string[], extra: Partial<CurrentRoute> = {}): CurrentRoute => ({ id, path, methods, host: null, stripPrefix: false, websocket: false, ...extra })

describe('reconcileRoutes', () => {
  it('keeps routes by path with their id and options, changes methods, adds and removes the rest', () => {
    const current = [route('r1', '/pets', ['GET', 'DELETE'], { host: 'api.example.com', stripPrefix: true }), route('r2', '/stores', ['GET']), route('r3', '/same', ['GET'])]
    const plan = reconcileRoutes(current, [{ path: '/pets', methods: ['GET', 'PATCH'] }, { path: '/same', methods: ['GET'] }, { path: '/invoices', methods: ['GET'] }], true)
    expect(plan.update).toEqual([{ id: 'r1', methods: ['GET', 'PATCH'] }])
    expect(plan.remove).toEqual(['r2'])
    expect(plan.create).toEqual([{ path: '/invoices', methods: ['GET'], host: null, stripPrefix: true, websocket: false }])
    expect(plan.diff).toEqual({
      added: [{ path: '/invoices', methods: ['GET'] }],
      removed: [{ path: '/stores', methods: ['GET'] }],
      changed: [{ path: '/pets', methodsBefore: ['DELETE', 'GET'], methodsAfter: ['GET', 'PATCH'] }]
    })
    expect(plan.result.find(item => item.path === '/pets')).toMatchObject({ host: 'api.example.com', stripPrefix: true, methods: ['GET', 'PATCH'] })
  })

  it('leaves WebSocket routes alone, since documents cannot describe them', () => {
    const plan = reconcileRoutes([route('ws', '/stream', [], { websocket: true })], [{ path: '/pets', methods: ['GET'] }], false)
    expect(plan.remove).toEqual([])
    expect(plan.result.map(item => item.path)).toEqual(['/stream', '/pets'])
  })
})

describe('documentDiff', () => {
  const none = { added: [], removed: [], changed: [] }
  it('ignores key order and names operations and schemas that changed', () => {
    const before = { info: { version: '1' }, paths: { '/a': { get: { summary: 's', responses: { 200: { description: 'ok' } } } } }, components: { schemas: { A: { type: 'object', required: ['x'] } } } }
    const reordered = { paths: { '/a': { get: { responses: { 200: { description: 'ok' } }, summary: 's' } } }, components: { schemas: { A: { required: ['x'], type: 'object' } } }, info: { version: '1' } }
    expect(documentDiff(before, reordered, none)).toEqual({ version: { before: '1', after: '1' }, routes: none, operations: none, schemas: none })
    const changed = { info: { version: '2' }, paths: { '/a': { parameters: [{ name: 'q', in: 'query' }], get: before.paths['/a'].get } }, components: { schemas: { B: {} } } }
    expect(documentDiff(before, changed, none)).toMatchObject({ version: { before: '1', after: '2' }, operations: { changed: ['GET /a'] }, schemas: { added: ['B'], removed: ['A'] } })
  })
})
