// How app credentials look. The key is public (it travels in X-Ca-Key and in logs), the
// secret signs requests, and the API key is a separate bearer secret with a recognisable
// prefix so that leaked keys are easy to find by secret scanners.
import { randomBytes } from 'node:crypto'
import { randomToken, sha256Hex } from './crypto.js'

export const API_KEY_PREFIX = 'pgw_ak_'
export const OPERATOR_TOKEN_PREFIX = 'pgw_op_'

export interface NewCredentialMaterial {
  key: string
  secret: string
  apiKey: string
  apiKeyHash: string
  apiKeyPrefix: string
}

export function generateCredentialMaterial (): NewCredentialMaterial {
  const key = randomBytes(12).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const apiKey = randomToken(API_KEY_PREFIX, 24)
  return { key, secret, apiKey, apiKeyHash: hashApiKey(apiKey), apiKeyPrefix: apiKey.slice(0, API_KEY_PREFIX.length + 4) }
}

export function hashApiKey (apiKey: string): string {
  return sha256Hex(apiKey)
}
