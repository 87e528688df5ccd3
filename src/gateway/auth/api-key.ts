// API-key authentication: `X-Api-Key: <key>` or `Authorization: ApiKey <key>`. Keys are
// looked up by their SHA-256, so the lookup time says nothing about the key's characters.
import type { IncomingHttpHeaders } from 'node:http'
import { hashApiKey } from '../../domain/credentials.js'

export function readApiKey (headers: IncomingHttpHeaders): { apiKey: string, fromAuthorization: boolean } | undefined {
  const header = headers['x-api-key']
  if (typeof header === 'string' && header !== '') return { apiKey: header.trim(), fromAuthorization: false }
  const authorization = headers.authorization
  if (authorization !== undefined && /^ApiKey\s/i.test(authorization)) return { apiKey: authorization.slice(7).trim(), fromAuthorization: true }
  return undefined
}

export function apiKeyLookupHash (apiKey: string): string {
  return hashApiKey(apiKey)
}
