// Issuing, rotating and revoking app credentials; shared by the operator and partner APIs.
import type { SecretBox } from '../../domain/crypto.js'
import { generateCredentialMaterial } from '../../domain/credentials.js'
import { NotFoundError } from '../../domain/errors.js'
import type { Transaction } from '../../store/config-writer.js'

export interface IssuedCredential {
  id: string
  key: string
  secret: string
  apiKey: string
  createdAt: Date
}

export interface CredentialView {
  id: string
  key: string
  apiKeyPrefix: string
  status: 'active' | 'expiring' | 'revoked' | 'expired'
  createdAt: Date
  expiresAt: Date | null
  revokedAt: Date | null
}

export function credentialStatus (credential: { expiresAt: Date | null, revokedAt: Date | null }, now = new Date()): CredentialView['status'] {
  if (credential.revokedAt !== null) return 'revoked'
  if (credential.expiresAt === null) return 'active'
  return credential.expiresAt > now ? 'expiring' : 'expired'
}

export function toCredentialView (credential: { id: string, key: string, apiKeyPrefix: string, createdAt: Date, expiresAt: Date | null, revokedAt: Date | null }): CredentialView {
  return { id: credential.id, key: credential.key, apiKeyPrefix: credential.apiKeyPrefix, status: credentialStatus(credential), createdAt: credential.createdAt, expiresAt: credential.expiresAt, revokedAt: credential.revokedAt }
}

export async function issueCredential (tx: Transaction, secretBox: SecretBox, appId: string): Promise<IssuedCredential> {
  const material = generateCredentialMaterial()
  const credential = await tx.credential.create({
    data: { appId, key: material.key, secretCiphertext: secretBox.encrypt(material.secret), apiKeyHash: material.apiKeyHash, apiKeyPrefix: material.apiKeyPrefix }
  })
  return { id: credential.id, key: material.key, secret: material.secret, apiKey: material.apiKey, createdAt: credential.createdAt }
}

/**
 * Issues a new credential and gives every still-valid previous one an expiry `overlapSeconds`
 * from now, so deployed clients keep working while they switch; 0 revokes them at once.
 */
export async function rotateCredentials (tx: Transaction, secretBox: SecretBox, appId: string, overlapSeconds: number): Promise<{ issued: IssuedCredential, previous: CredentialView[] }> {
  const now = new Date()
  const stillValid = await tx.credential.findMany({
    where: { appId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }
  })
  const expiresAt = new Date(now.getTime() + overlapSeconds * 1000)
  const previous: CredentialView[] = []
  for (const credential of stillValid) {
    // a credential already expiring sooner keeps its earlier expiry
    const data = overlapSeconds === 0
      ? { revokedAt: now, expiresAt: now }
      : { expiresAt: credential.expiresAt !== null && credential.expiresAt < expiresAt ? credential.expiresAt : expiresAt }
    previous.push(toCredentialView(await tx.credential.update({ where: { id: credential.id }, data })))
  }
  return { issued: await issueCredential(tx, secretBox, appId), previous }
}

/** Revokes one credential of the app, named by its id or its public key. */
export async function revokeCredential (tx: Transaction, appId: string, keyOrId: string): Promise<CredentialView> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(keyOrId)
  const credential = await tx.credential.findFirst({ where: { appId, ...(isUuid ? { OR: [{ id: keyOrId }, { key: keyOrId }] } : { key: keyOrId }) } })
  if (credential === null) throw new NotFoundError(`The app has no credential ${keyOrId}`)
  const now = new Date()
  return toCredentialView(await tx.credential.update({ where: { id: credential.id }, data: { revokedAt: credential.revokedAt ?? now, expiresAt: credential.revokedAt !== null ? credential.expiresAt : now } }))
}
