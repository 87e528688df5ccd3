// Request limits per API: the request target's length, the header bytes, the body's size and
// its media type. Every measure comes from what the client sent before its body (the request
// line, the header lines, Content-Length), so a refusal costs no credential check and reads
// no body; only a body of unknown length (chunked) is measured while it streams.
import type { IncomingHttpHeaders } from 'node:http'
import { Type, type Static } from 'typebox'

// RFC 9110 §8.3.1: type "/" subtype, each a token; a subtype of "*" stands for any subtype
// of the type. "*/*" is left out: it allows what leaving contentTypes out allows.
const TOKEN = "[A-Za-z0-9!#$%&'+.^_`|~-]+"
const MEDIA_RANGE = Type.String({ maxLength: 255, pattern: `^${TOKEN}/(${TOKEN}|\\*)$`, description: 'a media type (application/json) or all subtypes of a type (text/*); compared lowercased' })

export const RequestLimitsConfig = Type.Object({
  maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 * 1024 ** 3, description: 'largest request body, in bytes; 0 = no body' })),
  maxHeaderBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 65_536, description: "largest sum of the request's header names and values, in bytes (the server's own limit, 16 KiB by default, applies first)" })),
  maxUrlLength: Type.Optional(Type.Integer({ minimum: 16, maximum: 65_536, description: 'longest request target (path and query), in bytes' })),
  contentTypes: Type.Optional(Type.Array(MEDIA_RANGE, { minItems: 1, maxItems: 50, uniqueItems: true, description: 'media types a request body may have; parameters (charset) are ignored; a body without Content-Type counts as application/octet-stream' }))
}, { additionalProperties: false })
export type RequestLimitsConfig = Static<typeof RequestLimitsConfig>

export function requestLimitsConfigProblem (config: RequestLimitsConfig): string | undefined {
  if (config.maxBodyBytes === undefined && config.maxHeaderBytes === undefined && config.maxUrlLength === undefined && config.contentTypes === undefined) {
    return 'requestLimits sets no limit: give at least one, or null to remove the limits'
  }
  return undefined
}

/** Media types compare lowercased (RFC 9110 §8.3.1); operators may type them otherwise. */
export function normaliseRequestLimitsConfig (config: RequestLimitsConfig): RequestLimitsConfig {
  return config.contentTypes === undefined ? config : { ...config, contentTypes: [...new Set(config.contentTypes.map(type => type.toLowerCase()))] }
}

export interface AllowedMediaTypes {
  /** whole media types: application/json */
  exact: ReadonlySet<string>
  /** types whose every subtype is allowed: "text" for text/* */
  anySubtype: ReadonlySet<string>
}

export interface RequestLimits {
  maxBodyBytes: number | undefined
  maxHeaderBytes: number | undefined
  maxUrlLength: number | undefined
  contentTypes: AllowedMediaTypes | undefined
}

export function compileRequestLimits (config: RequestLimitsConfig): RequestLimits {
  let contentTypes: AllowedMediaTypes | undefined
  if (config.contentTypes !== undefined) {
    const exact = new Set<string>()
    const anySubtype = new Set<string>()
    for (const range of config.contentTypes) {
      const [type, subtype] = range.toLowerCase().split('/')
      if (subtype === '*') anySubtype.add(type)
      else exact.add(`${type}/${subtype}`)
    }
    contentTypes = { exact, anySubtype }
  }
  return { maxBodyBytes: config.maxBodyBytes, maxHeaderBytes: config.maxHeaderBytes, maxUrlLength: config.maxUrlLength, contentTypes }
}

/**
 * The bytes of the header names and values as the client sent them (Node's rawHeaders, where
 * each character is one byte: headers are read as latin1), repeated headers each counted,
 * without the ": " and line ends.
 */
export function headerBytes (rawHeaders: readonly string[]): number {
  let bytes = 0
  for (let index = 0; index < rawHeaders.length; index++) bytes += rawHeaders[index].length
  return bytes
}

/**
 * The body the request announces (RFC 9112 §6.3): its Content-Length, undefined for one of
 * unknown length (Transfer-Encoding, chunked), 0 for none.
 */
export function announcedBodyLength (headers: IncomingHttpHeaders): number | undefined {
  if (headers['transfer-encoding'] !== undefined) return undefined
  const length = headers['content-length']
  // Node has checked it is a number, and refused a request with two different ones
  return length === undefined ? 0 : Number(length)
}

/** A Content-Type's media type lowercased, without its parameters; undefined when malformed. */
export function mediaTypeOf (contentType: string): string | undefined {
  const end = contentType.indexOf(';')
  const essence = (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase()
  return MEDIA_TYPE.test(essence) ? essence : undefined
}
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`)

/** RFC 9110 §8.3: a body without a Content-Type may be taken for application/octet-stream. */
const UNDECLARED_MEDIA_TYPE = 'application/octet-stream'

/** The media type of a body that is not allowed, as the refusal names it; undefined when allowed. */
export function refusedMediaType (allowed: AllowedMediaTypes, contentType: string | undefined): string | undefined {
  if (contentType === undefined) return allowed.exact.has(UNDECLARED_MEDIA_TYPE) || allowed.anySubtype.has('application') ? undefined : `none (taken for ${UNDECLARED_MEDIA_TYPE})`
  const mediaType = mediaTypeOf(contentType)
  if (mediaType === undefined) return `${JSON.stringify(contentType.slice(0, 100))} (not a media type)`
  if (allowed.exact.has(mediaType) || allowed.anySubtype.has(mediaType.slice(0, mediaType.indexOf('/')))) return undefined
  return mediaType
}
