// Secrets at rest and token handling: AES-256-GCM for secrets that must be read back
// (HMAC secrets, signing keys), SHA-256 for secrets that are only ever compared
// (API keys, operator tokens, session ids), and constant-time comparison throughout.
import { createCipheriv, createDecipheriv, hash, randomBytes, timingSafeEqual } from 'node:crypto'

const CIPHERTEXT_VERSION = 'v1'

export class SecretBox {
  readonly #key: Buffer

  constructor (masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('The master key must be 32 bytes')
    this.#key = masterKey
  }

  encrypt (plaintext: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return `${CIPHERTEXT_VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`
  }

  decrypt (sealed: string): string {
    const [version, payload] = sealed.split(':', 2)
    if (version !== CIPHERTEXT_VERSION || payload === undefined) throw new Error('Unknown ciphertext format')
    const raw = Buffer.from(payload, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  }
}

/** Parses a master key given as 64 hex characters or base64 of 32 bytes. */
export function parseMasterKey (text: string): Buffer {
  const trimmed = text.trim()
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  if (key.length !== 32) throw new Error('GATEWAY_MASTER_KEY must be 32 bytes, as 64 hex characters or base64')
  return key
}

/** One-shot: a quarter of the CPU of createHash().update().digest(), and that matters once per API-key request. */
export function sha256Hex (text: string): string {
  return hash('sha256', text, 'hex')
}

/** A URL-safe random token with a recognisable prefix, e.g. `pgw_ak_…`. */
export function randomToken (prefix: string, bytes = 24): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`
}

export function constantTimeEqual (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  // compare against itself on length mismatch so the timing does not reveal the length
  if (left.length !== right.length) {
    timingSafeEqual(left, left)
    return false
  }
  return timingSafeEqual(left, right)
}
