// One-time links (invitations, password resets, email verifications) carry `<id>.<verifier>`:
// the id finds the row, the verifier proves the link was received. Only the SHA-256 of the
// verifier is stored, so a database leak gives no usable link, and the comparison is
// constant-time, so response times do not reveal how much of a guessed verifier was right.
import { randomBytes } from 'node:crypto'
import { constantTimeEqual, sha256Hex } from './crypto.js'

const VERIFIER_BYTES = 32
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const VERIFIER = /^[\w-]{43}$/

export interface NewVerifier {
  verifier: string
  verifierHash: string
}

export function newVerifier (): NewVerifier {
  const verifier = randomBytes(VERIFIER_BYTES).toString('base64url')
  return { verifier, verifierHash: sha256Hex(verifier) }
}

export function formatToken (id: string, verifier: string): string {
  return `${id}.${verifier}`
}

/** The id and verifier of a token, or undefined when it cannot be one of ours. */
export function parseToken (token: string): { id: string, verifier: string } | undefined {
  const dot = token.indexOf('.')
  if (dot === -1) return undefined
  const id = token.slice(0, dot)
  const verifier = token.slice(dot + 1)
  return UUID.test(id) && VERIFIER.test(verifier) ? { id, verifier } : undefined
}

export function verifierMatches (verifier: string, verifierHash: string): boolean {
  return constantTimeEqual(sha256Hex(verifier), verifierHash)
}
