// The portal's reading of schemas: type labels with $ref names and compositions, constraints
// in words, and operations grouped by tag in the document's order.
import { describe, expect, it } from 'vitest'
import { constraints, describeSecurityScheme, groupByTag, operations, typeLabel } from '../../../portal/src/openapi.js'

describe('typeLabel', () => {
  const document = { components: { schemas: { Pet: { type: 'object' } } } }
  it('names $refs, arrays, compositions, formats and nullability', () => {
    expect(typeLabel(document, { $ref: '#/components/schemas/Pet' })).toBe('Pet')
    expect(typeLabel(document, { type: 'array', items: { allOf: [{ $ref: '#/components/schemas/Pet' }, { type: 'object' }] } })).toBe('array of all of (Pet & object)')
    expect(typeLabel(document, { oneOf: [{ type: 'string' }, { type: 'integer' }], nullable: true })).toBe('one of (string | integer) | null')
    expect(typeLabel(document, { type: ['string', 'null'], format: 'date' })).toBe('string | null (date)')
  })
})

describe('constraints', () => {
  it('puts bounds, lengths, patterns, defaults and access into words', () => {
    expect(constraints({ minimum: 1, maximum: 10, exclusiveMaximum: true, minLength: 2, maxLength: 2, pattern: '^a', default: 'x', readOnly: true })).toEqual(['≥ 1', '< 10', 'length exactly 2', 'pattern ^a', 'default x', 'read-only'])
    expect(constraints({ exclusiveMinimum: 0, minItems: 1, uniqueItems: true, multipleOf: 5 })).toEqual(['> 0', 'multiple of 5', 'items at least 1', 'unique items'])
  })
})

describe('groupByTag', () => {
  it('keeps the document\'s tag order, puts other tags after and the untagged last', () => {
    const document = {
      tags: [{ name: 'b', description: 'Bees' }, { name: 'a' }, { name: 'unused' }],
      paths: { '/x': { get: { tags: ['a'], responses: {} }, post: { responses: {} } }, '/y': { get: { tags: ['c'], responses: {} } }, '/z': { get: { tags: ['b'], responses: {} } } }
    }
    expect(groupByTag(document, operations(document)).map(group => [group.tag, group.description, group.operations.map(operation => `${operation.method} ${operation.path}`)])).toEqual([
      ['b', 'Bees', ['GET /z']],
      ['a', '', ['GET /x']],
      ['c', '', ['GET /y']],
      ['', '', ['POST /x']]
    ])
  })
})

describe('describeSecurityScheme', () => {
  it('says where a key goes and which flows a scheme has', () => {
    expect(describeSecurityScheme({ type: 'apiKey', in: 'header', name: 'X-Key' })).toBe('API key in header X-Key')
    expect(describeSecurityScheme({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })).toBe('HTTP bearer (JWT)')
    expect(describeSecurityScheme({ type: 'oauth2', flows: { clientCredentials: {} } })).toBe('OAuth2 (clientCredentials)')
  })
})
