// Browsers cannot set headers on a WebSocket handshake, so they may carry the HMAC
// signature in the query string (see signQueryString). This turns such a URL into the
// equivalent signed request — the X-Ca-* values as headers, the URL without them — so the
// ordinary HMAC verification applies unchanged.
import type { IncomingHttpHeaders } from 'node:http'
import { QUERY_SIGNATURE_PARAMETERS } from '../../domain/sign-request.js'
import type { AuthRequest } from '../policies/authentication/authenticate.js'

export function fromQuerySignature (url: string, headers: IncomingHttpHeaders): AuthRequest | undefined {
  const queryStart = url.indexOf('?')
  if (queryStart === -1 || headers['x-ca-key'] !== undefined) return undefined
  const query = new URLSearchParams(url.slice(queryStart + 1))
  if (!query.has('x-ca-signature') || !query.has('x-ca-key')) return undefined
  const signed: IncomingHttpHeaders = {}
  const signedNames: string[] = []
  for (const name of QUERY_SIGNATURE_PARAMETERS) {
    const value = query.get(name)
    query.delete(name)
    if (value === null) continue
    signed[name] = value
    if (name !== 'x-ca-signature') signedNames.push(name)
  }
  signed['x-ca-signature-headers'] = signedNames.sort().join(',')
  const rest = query.toString()
  return { method: 'GET', url: url.slice(0, queryStart) + (rest === '' ? '' : `?${rest}`), headers: signed }
}
