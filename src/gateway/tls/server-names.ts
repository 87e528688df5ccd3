// Which certificate answers a TLS client hello: the names a certificate is valid for, and the
// lookup from the client's SNI server name to the certificate that covers it (RFC 6125).
import type { X509Certificate } from 'node:crypto'

/**
 * The DNS names a certificate is valid for, lowercase: its subjectAltName DNS entries, or its
 * subject's CN when it has none (RFC 6125 §6.4.4: clients ignore the CN once a DNS SAN exists).
 */
export function certificateNames (certificate: X509Certificate): string[] {
  const dnsNames: string[] = []
  for (const entry of certificate.subjectAltName?.split(', ') ?? []) {
    if (entry.startsWith('DNS:')) dnsNames.push(normalizeName(entry.slice(4)))
  }
  if (dnsNames.length > 0) return dnsNames
  const commonName = /^CN=(.+)$/m.exec(certificate.subject)?.[1]
  return commonName === undefined ? [] : [normalizeName(commonName)]
}

function normalizeName (name: string): string {
  const lower = name.trim().toLowerCase()
  return lower.endsWith('.') ? lower.slice(0, -1) : lower
}

/**
 * Values (certificates) by the server names they cover: an exact name first, then a wildcard
 * `*.example.com`, which covers one label only (`a.example.com`, not `example.com` nor
 * `a.b.example.com`). A name nothing covers gets the fallback. The first value to claim a
 * name keeps it. Partial wildcards (`a*.example.com`) cover nothing.
 */
export class ServerNameIndex<T> {
  readonly #exact = new Map<string, T>()
  /** by the parent domain of the wildcard: `example.com` for `*.example.com` */
  readonly #wildcard = new Map<string, T>()
  readonly #fallback: T

  constructor (entries: ReadonlyArray<{ names: readonly string[], value: T }>, fallback: T) {
    this.#fallback = fallback
    for (const { names, value } of entries) {
      for (const name of names) {
        if (name.startsWith('*.')) {
          const parent = name.slice(2)
          if (parent.includes('*') || parent === '' || this.#wildcard.has(parent)) continue
          this.#wildcard.set(parent, value)
        } else if (!name.includes('*') && !this.#exact.has(name)) {
          this.#exact.set(name, value)
        }
      }
    }
  }

  lookup (serverName: string): T {
    const name = normalizeName(serverName)
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    const dot = name.indexOf('.')
    if (dot <= 0) return this.#fallback
    return this.#wildcard.get(name.slice(dot + 1)) ?? this.#fallback
  }
}
