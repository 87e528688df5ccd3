// The request-limits policy's pure logic: which configurations are refused, how header bytes,
// announced bodies and media types are read, and which media types a configuration lets in;
// then the unit on a context at each limit and one byte over it.
import type { IncomingHttpHeaders } from 'node:http'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import type { PolicyContext, Transport } from '../../../../../src/gateway/policies/chain.js'
import { requestLimitsPolicy } from '../../../../../src/gateway/policies/request-limits/index.js'
import {
  announcedBodyLength, compileRequestLimits, headerBytes, mediaTypeOf, normaliseRequestLimitsConfig, refusedMediaType, RequestLimitsConfig, requestLimitsConfigProblem
} from '../../../../../src/gateway/policies/request-limits/request-limits.js'
import type { CompiledApi, GatewaySnapshot } from '../../../../../src/gateway/snapshot/compile.js'
import type { ChainServices } from '../../../../../src/gateway/policies/definition.js'

const schema = Compile(RequestLimitsConfig)

describe('request limits configuration', () => {
  it.each([
    [{ maxBodyBytes: 0 }],
    [{ maxBodyBytes: 10 * 1024 ** 3, maxHeaderBytes: 256, maxUrlLength: 16 }],
    [{ contentTypes: ['application/json', 'Multipart/Form-Data', 'text/*', 'application/vnd.api+json'] }]
  ])('accepts %j', config => {
    expect(schema.Check(config)).toBe(true)
    expect(requestLimitsConfigProblem(config as RequestLimitsConfig)).toBeUndefined()
  })

  it.each([
    [{ maxBodyBytes: -1 }, 'a negative size'],
    [{ maxBodyBytes: 1.5 }, 'a fraction'],
    [{ maxBodyBytes: 10 * 1024 ** 3 + 1 }, 'a body over 10 GiB'],
    [{ maxHeaderBytes: 255 }, 'headers too small for any request'],
    [{ maxHeaderBytes: 65_537 }, 'headers over 64 KiB'],
    [{ maxUrlLength: 15 }, 'a target too short for any route'],
    [{ contentTypes: [] }, 'no media type at all'],
    [{ contentTypes: ['*/*'] }, 'every media type'],
    [{ contentTypes: ['*/json'] }, 'a wildcard type'],
    [{ contentTypes: ['application/json; charset=utf-8'] }, 'parameters'],
    [{ contentTypes: ['json'] }, 'no subtype'],
    [{ contentTypes: ['application/json', 'application/json'] }, 'a repeated type'],
    [{ maxBodySize: 1 }, 'an unknown field']
  ])('refuses %j (%s)', (config, _reason) => {
    expect(schema.Check(config)).toBe(false)
  })

  it('refuses a configuration that sets no limit', () => {
    expect(schema.Check({})).toBe(true)
    expect(requestLimitsConfigProblem({})).toMatch(/sets no limit/)
  })

  it('stores media types lowercased, once each', () => {
    expect(normaliseRequestLimitsConfig({ maxBodyBytes: 5, contentTypes: ['Application/JSON', 'application/json', 'TEXT/*'] })).toEqual({ maxBodyBytes: 5, contentTypes: ['application/json', 'text/*'] })
    const config = { maxUrlLength: 100 }
    expect(normaliseRequestLimitsConfig(config)).toBe(config)
  })
})

describe('measuring a request', () => {
  it('counts header names and values, repeats included, without separators', () => {
    expect(headerBytes([])).toBe(0)
    expect(headerBytes(['Host', 'gw', 'X-Tag', 'a', 'X-Tag', 'bc'])).toBe(4 + 2 + 5 + 1 + 5 + 2)
  })

  it('reads the announced body: its length, unknown when chunked, none without either', () => {
    expect(announcedBodyLength({ 'content-length': '1024' })).toBe(1024)
    expect(announcedBodyLength({ 'content-length': '0' })).toBe(0)
    expect(announcedBodyLength({ 'transfer-encoding': 'chunked' })).toBeUndefined()
    expect(announcedBodyLength({})).toBe(0)
  })

  it.each([
    ['application/json', 'application/json'],
    ['Application/JSON; charset=UTF-8', 'application/json'],
    [' multipart/form-data ; boundary=xyz', 'multipart/form-data'],
    ['application/vnd.api+json', 'application/vnd.api+json'],
    ['json', undefined],
    ['text/', undefined],
    ['text/*', undefined],
    ['a/b/c', undefined],
    ['', undefined]
  ])('reads the media type of %j as %j', (contentType, mediaType) => {
    expect(mediaTypeOf(contentType)).toBe(mediaType)
  })
})

describe('allowed media types', () => {
  const allowed = compileRequestLimits({ contentTypes: ['application/json', 'text/*'] }).contentTypes!

  it.each([
    'application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'text/plain', 'text/csv;header=present'
  ])('lets %j in', contentType => {
    expect(refusedMediaType(allowed, contentType)).toBeUndefined()
  })

  it.each([
    ['application/xml', 'application/xml'],
    ['application/json-patch+json', 'application/json-patch+json'],
    ['texts/plain', 'texts/plain'],
    ['multipart/form-data; boundary=x', 'multipart/form-data'],
    ['not a type', '"not a type" (not a media type)'],
    [undefined, 'none (taken for application/octet-stream)']
  ])('refuses %j, naming it %j', (contentType, named) => {
    expect(refusedMediaType(allowed, contentType)).toBe(named)
  })

  it('takes a body without Content-Type for application/octet-stream', () => {
    expect(refusedMediaType(compileRequestLimits({ contentTypes: ['application/octet-stream'] }).contentTypes!, undefined)).toBeUndefined()
    expect(refusedMediaType(compileRequestLimits({ contentTypes: ['application/*'] }).contentTypes!, undefined)).toBeUndefined()
  })
})

describe('the request-limits unit', () => {
  const unit = requestLimitsPolicy.compile({ maxUrlLength: 20, maxHeaderBytes: 300, maxBodyBytes: 1000, contentTypes: ['application/json'] }, {} as CompiledApi, {} as GatewaySnapshot, {} as ChainServices)!

  interface Request { transport?: Transport, rawUrl?: string, rawHeaders?: string[], headers?: IncomingHttpHeaders }

  /** What the unit decided: the error code it refused with, and the cap it set on the body. */
  function run (request: Request): { refused: string | undefined, bodyCap: number | undefined } {
    let bodyCap: number | undefined
    const context = {
      transport: request.transport ?? 'http',
      rawUrl: request.rawUrl ?? '/orders',
      rawHeaders: request.rawHeaders ?? ['Host', 'gw'],
      headers: request.headers ?? {},
      limitBody: (maxBytes: number) => { bodyCap = maxBytes }
    } as unknown as PolicyContext
    try {
      void unit.access(context)
      return { refused: undefined, bodyCap }
    } catch (error) {
      return { refused: (error as { code: string }).code, bodyCap }
    }
  }

  it('lets a request at every limit through', () => {
    expect(run({
      rawUrl: `/orders?q=${'x'.repeat(10)}`,
      rawHeaders: ['Host', 'gw', 'X-Pad', 'p'.repeat(300 - 4 - 2 - 5)],
      headers: { 'content-length': '1000', 'content-type': 'application/json' }
    })).toEqual({ refused: undefined, bodyCap: undefined })
  })

  it.each([
    [{ rawUrl: `/orders?q=${'x'.repeat(11)}` }, 'URI_TOO_LONG'],
    [{ rawHeaders: ['Host', 'gw', 'X-Pad', 'p'.repeat(300 - 4 - 2 - 5 + 1)] }, 'HEADERS_TOO_LARGE'],
    [{ headers: { 'content-length': '1001', 'content-type': 'application/json' } }, 'PAYLOAD_TOO_LARGE'],
    [{ headers: { 'content-length': '10', 'content-type': 'text/plain' } }, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ headers: { 'transfer-encoding': 'chunked' } }, 'UNSUPPORTED_MEDIA_TYPE']
  ])('refuses one byte over a limit or a media type not listed: %j', (request, code) => {
    expect(run(request).refused).toBe(code)
  })

  it('caps a chunked body while it streams, and checks no media type on a request without a body', () => {
    expect(run({ headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' } })).toEqual({ refused: undefined, bodyCap: 1000 })
    expect(run({ headers: { 'content-type': 'text/plain' } })).toEqual({ refused: undefined, bodyCap: undefined })
    expect(run({ headers: { 'content-length': '0', 'content-type': 'text/plain' } })).toEqual({ refused: undefined, bodyCap: undefined })
  })

  it('checks only the target and headers of a WebSocket upgrade', () => {
    expect(run({ transport: 'websocket', headers: { 'content-length': '5000', 'content-type': 'text/plain' } }).refused).toBeUndefined()
    expect(run({ transport: 'websocket', rawUrl: '/x'.repeat(11) }).refused).toBe('URI_TOO_LONG')
  })

  it('is left out of the chain of an API without request limits', () => {
    expect(requestLimitsPolicy.compile(undefined, {} as CompiledApi, {} as GatewaySnapshot, {} as ChainServices)).toBeUndefined()
  })
})
