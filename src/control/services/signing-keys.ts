// Token signing keys (Ed25519). Private keys are sealed with the master key; a rotation
// retires the current key — no new tokens are signed with it — but keeps its public key
// published until every token it signed has expired.
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import type { SecretBox } from '../../domain/crypto.js'
import { CLOCK_TOLERANCE_SECONDS, TOKEN_ALGORITHM } from '../../domain/oauth.js'
import type { ConfigWriter } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'

export interface ActiveSigningKey {
  kid: string
  algorithm: string
  privateKey: Awaited<ReturnType<typeof importJWK>>
}

export interface PublishedKey extends JWK {
  kid: string
  alg: string
  use: 'sig'
}

async function newKeyRow (secretBox: SecretBox): Promise<{ kid: string, algorithm: string, publicJwk: JWK, privateJwkCiphertext: string }> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true })
  const kid = randomBytes(9).toString('base64url')
  return { kid, algorithm: TOKEN_ALGORITHM, publicJwk: await exportJWK(publicKey), privateJwkCiphertext: secretBox.encrypt(JSON.stringify(await exportJWK(privateKey))) }
}

export class SigningKeys {
  readonly #prisma: PrismaClient
  readonly #writer: ConfigWriter
  readonly #secretBox: SecretBox
  #active: ActiveSigningKey | undefined
  /** the first tokens of a fresh install arrive together: create one key for all of them */
  #creating: Promise<ActiveSigningKey> | undefined

  constructor (prisma: PrismaClient, writer: ConfigWriter, secretBox: SecretBox) {
    this.#prisma = prisma
    this.#writer = writer
    this.#secretBox = secretBox
  }

  /** The key new tokens are signed with; created on first use. */
  async active (): Promise<ActiveSigningKey> {
    const current = await this.#prisma.signingKey.findFirst({ where: { retiredAt: null }, orderBy: { createdAt: 'desc' } })
    if (current === null) {
      this.#creating ??= this.#create().finally(() => { this.#creating = undefined })
      return await this.#creating
    }
    if (this.#active?.kid !== current.kid) this.#active = await this.#unseal(current)
    return this.#active
  }

  async #create (): Promise<ActiveSigningKey> {
    const row = await this.#writer.write('system:signing-keys', async ({ tx, audit }) => {
      // another control node may have created one meanwhile
      const existing = await tx.signingKey.findFirst({ where: { retiredAt: null }, orderBy: { createdAt: 'desc' } })
      if (existing !== null) return existing
      const created = await tx.signingKey.create({ data: await newKeyRow(this.#secretBox) as never })
      audit({ action: 'signing-key.create', targetType: 'signing-key', targetId: created.kid })
      return created
    })
    this.#active = await this.#unseal(row)
    return this.#active
  }

  async #unseal (row: { kid: string, algorithm: string, privateJwkCiphertext: string }): Promise<ActiveSigningKey> {
    const privateJwk = JSON.parse(this.#secretBox.decrypt(row.privateJwkCiphertext)) as JWK
    return { kid: row.kid, algorithm: row.algorithm, privateKey: await importJWK(privateJwk, row.algorithm) }
  }

  /** Creates a new key and retires the others; returns the new key id. */
  async rotate (actor: string): Promise<{ kid: string, retired: string[] }> {
    const row = await newKeyRow(this.#secretBox)
    return await this.#writer.write(actor, async ({ tx, audit }) => {
      const current = await tx.signingKey.findMany({ where: { retiredAt: null }, select: { kid: true } })
      await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } })
      await tx.signingKey.create({ data: row as never })
      audit({ action: 'signing-key.rotate', targetType: 'signing-key', targetId: row.kid, details: { retired: current.map(key => key.kid) } })
      return { kid: row.kid, retired: current.map(key => key.kid) }
    })
  }

  /** Public keys of the active key and of retired keys whose tokens may still be valid. */
  async published (tokenTtlSeconds: number): Promise<Array<PublishedKey & { retiredAt: Date | null, createdAt: Date }>> {
    const cutoff = new Date(Date.now() - (tokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000)
    const rows = await this.#prisma.signingKey.findMany({ where: { OR: [{ retiredAt: null }, { retiredAt: { gt: cutoff } }] }, orderBy: { createdAt: 'desc' } })
    return rows.map(row => ({ ...(row.publicJwk as JWK), kid: row.kid, alg: row.algorithm, use: 'sig' as const, retiredAt: row.retiredAt, createdAt: row.createdAt }))
  }
}
