// One-time link tokens: `<uuid>.<43 base64url characters>`, of which only a hash is kept.
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../../src/domain/crypto.js'
import { formatToken, newVerifier, parseToken, verifierMatches } from '../../../src/domain/one-time-token.js'
import { webhookSignature } from '../../../src/domain/webhook-signature.js'

const ID = '01a215aa-482e-700b-a17b-04ec17bcf287'

describe('one-time link tokens', () => {
  it('makes a fresh 256-bit verifier each time and stores only its SHA-256', () => {
    const first = newVerifier()
    const second = newVerifier()
    expect(first.verifier).toMatch(/^[\w-]{43}$/)
    expect(first.verifier).not.toBe(second.verifier)
    expect(first.verifierHash).toBe(sha256Hex(first.verifier))
    expect(first.verifierHash).not.toContain(first.verifier)
  })

  it('parses what it formats and nothing that could not be one of its tokens', () => {
    const { verifier } = newVerifier()
    expect(parseToken(formatToken(ID, verifier))).toEqual({ id: ID, verifier })
    for (const bad of ['', ID, `${ID}.`, `not-a-uuid.${verifier}`, `${ID}.${verifier}x`, `${ID}.${verifier.slice(1)}`, `${ID}.${verifier.slice(0, -1)}/`, `${ID.toUpperCase()}.${verifier}`]) {
      expect(parseToken(bad), bad).toBeUndefined()
    }
  })

  it('matches only the verifier whose hash is stored', () => {
    const { verifier, verifierHash } = newVerifier()
    expect(verifierMatches(verifier, verifierHash)).toBe(true)
    expect(verifierMatches(newVerifier().verifier, verifierHash)).toBe(false)
    expect(verifierMatches(verifier, verifierHash.slice(1))).toBe(false)
  })
})

describe('webhook signature', () => {
  it('is GitHub-style sha256=<hex HMAC-SHA256 of the raw body>', () => {
    const body = '{"type":"partner.signup"}'
    expect(webhookSignature('secret-0123456789', body)).toBe(`sha256=${createHmac('sha256', 'secret-0123456789').update(body).digest('hex')}`)
    expect(webhookSignature('secret-0123456789', body)).not.toBe(webhookSignature('another-secret-01', body))
  })
})
