// Portal passwords: scrypt with a random salt, the parameters stored beside the hash so
// that they can be raised later without invalidating existing hashes; constant-time verify.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const SCHEME = 'scrypt'
const DEFAULTS = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 }

function derive (password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLength, { ...options, maxmem: 256 * 1024 * 1024 }, (error, key) => {
      if (error !== null) reject(error)
      else resolve(key)
    })
  })
}

/** Returns `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(DEFAULTS.saltLength)
  const key = await derive(password, salt, DEFAULTS.keyLength, { N: DEFAULTS.N, r: DEFAULTS.r, p: DEFAULTS.p })
  return [SCHEME, DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== SCHEME || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await derive(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

// Verifying against this when the email is unknown keeps the response time the same.
let dummyHash: Promise<string> | undefined
export async function burnPasswordCheck (password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(12).toString('hex'))
  await verifyPassword(password, await dummyHash)
}
