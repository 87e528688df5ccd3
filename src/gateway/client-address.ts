// The client's address as the access log and traces report it. X-Forwarded-For is written by
// whoever sent the request, so it is read only when the peer is one of the operator's
// trusted proxies, and then from the right: each trusted hop vouches for the address left
// of it, and the first address not trusted is the client (the rest could be forged).
import { isIP, type BlockList } from 'node:net'
import { addressFamily, subnetList } from './ip-subnet.js'

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
export function plainAddress (address: string): string {
  const mapped = IPV4_MAPPED.exec(address)
  return mapped === null ? address : mapped[1]
}

export class TrustedProxies {
  readonly #list: BlockList
  readonly #empty: boolean

  /** `entries` are addresses or CIDRs (`10.0.0.0/8`, `fd00::/8`); throws on anything else. */
  constructor (entries: readonly string[]) {
    this.#empty = entries.length === 0
    try {
      this.#list = subnetList(entries)
    } catch (error) {
      throw new Error(`trustedProxies: ${(error as Error).message}`)
    }
  }

  trusts (address: string): boolean {
    if (this.#empty) return false
    const family = addressFamily(address)
    return family !== undefined && this.#list.check(address, family)
  }

  /** The client's address: the peer's own, or from X-Forwarded-For when the peer is trusted. */
  clientAddress (peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    const remote = plainAddress(peer ?? '')
    if (forwardedFor === undefined || !this.trusts(remote)) return remote
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',')
    let client = remote
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = plainAddress(hops[index].trim())
      // a hop that is not an address ends the chain: the trusted proxy before it is the last one known
      if (isIP(hop) === 0) return client
      client = hop
      if (!this.trusts(hop)) return hop
    }
    return client
  }
}
