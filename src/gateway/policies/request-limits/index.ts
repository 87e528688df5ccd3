// The request-limits unit: refuses, before any credential is checked and before the body is
// asked for (Expect: 100-continue), a request whose target, headers or announced body are
// larger than the API takes, or whose body is of a media type it does not take. A body of
// unknown length is capped while it streams. A WebSocket upgrade has its target and headers
// checked; its messages have their own limit.
import { HeadersTooLargeError, PayloadTooLargeError, UnsupportedMediaTypeError, UriTooLongError } from '../../../domain/errors.js'
import type { ApiPolicyDefinition } from '../definition.js'
import { announcedBodyLength, compileRequestLimits, headerBytes, normaliseRequestLimitsConfig, refusedMediaType, RequestLimitsConfig, requestLimitsConfigProblem } from './request-limits.js'

export const requestLimitsPolicy: ApiPolicyDefinition<RequestLimitsConfig> = {
  name: 'requestLimits',
  schema: RequestLimitsConfig,
  description: 'the largest request target, headers and body the API takes, and the media types of its bodies; null or absent = only the gateway-wide limits',
  phase: 'before-authentication',
  problem: requestLimitsConfigProblem,
  normalise: normaliseRequestLimitsConfig,
  compile (config) {
    if (config === undefined) return undefined
    const { maxUrlLength, maxHeaderBytes, maxBodyBytes, contentTypes } = compileRequestLimits(config)
    return {
      name: 'request-limits',
      access (context) {
        // the request line and the header lines are read as latin1: a character is a byte
        if (maxUrlLength !== undefined && context.rawUrl.length > maxUrlLength) throw new UriTooLongError(String(maxUrlLength))
        if (maxHeaderBytes !== undefined && headerBytes(context.rawHeaders) > maxHeaderBytes) throw new HeadersTooLargeError()
        if (context.transport !== 'http') return
        const bodyLength = announcedBodyLength(context.headers)
        if (bodyLength === 0) return
        if (maxBodyBytes !== undefined) {
          if (bodyLength === undefined) context.limitBody(maxBodyBytes)
          else if (bodyLength > maxBodyBytes) throw new PayloadTooLargeError(String(maxBodyBytes))
        }
        const refused = contentTypes === undefined ? undefined : refusedMediaType(contentTypes, context.headers['content-type'])
        if (refused !== undefined) throw new UnsupportedMediaTypeError(refused)
      }
    }
  }
}
