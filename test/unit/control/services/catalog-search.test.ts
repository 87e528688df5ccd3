// Catalog search: every word somewhere in the API, best first, the best-matching operations named.
import { describe, expect, it } from 'vitest'
import { documentTags, queryTerms, searchApi, type SearchableApi } from '../../../../src/control/services/catalog-search.js'

const billing: SearchableApi = {
  name: 'Billing',
  description: 'Invoices for sellers',
  routes: [],
  document: {
    tags: [{ name: 'refunds', description: 'Money back' }],
    paths: {
      '/invoices/{id}': { get: { summary: 'Fetch one invoice', operationId: 'getInvoice', tags: ['invoices'] } },
      '/invoices': { post: { summary: 'Issue a refund', tags: ['refunds'] } }
    }
  }
}

describe('catalog search', () => {
  it('splits the query into lower-case words, once each', () => {
    expect(queryTerms('  Refund  refund INVOICE ')).toEqual(['refund', 'invoice'])
  })

  it('lists the document\'s tags first, then those only operations use', () => {
    expect(documentTags(billing.document)).toEqual(['refunds', 'invoices'])
  })

  it('needs every word somewhere: name, description, tags or operations', () => {
    expect(searchApi(billing, ['billing'])).toBeDefined()
    expect(searchApi(billing, ['sellers'])).toBeDefined()
    expect(searchApi(billing, ['money'])).toBeDefined()
    expect(searchApi(billing, ['getinvoice'])).toBeDefined()
    expect(searchApi(billing, ['refund', 'weather'])).toBeUndefined()
  })

  it('ranks a name above a tag, a tag above a description, a description above an operation', () => {
    const score = (terms: string[]): number => searchApi(billing, terms)?.score ?? 0
    expect(score(['billing'])).toBeGreaterThan(score(['refunds']))
    expect(score(['money'])).toBeGreaterThan(score(['sellers']))
    expect(score(['sellers'])).toBeGreaterThan(score(['fetch']))
  })

  it('names the operations that match the most words', () => {
    expect(searchApi(billing, ['fetch', 'invoice'])?.operations).toEqual([{ method: 'GET', path: '/invoices/{id}', summary: 'Fetch one invoice' }])
    expect(searchApi(billing, ['invoices'])?.operations).toHaveLength(2)
  })

  it('searches the routes of an API without a document', () => {
    const plain: SearchableApi = { name: 'Weather', description: '', document: null, routes: [{ path: '/forecast', methods: ['GET'] }] }
    expect(searchApi(plain, ['forecast'])?.operations).toEqual([{ method: 'GET', path: '/forecast', summary: '' }])
  })
})
