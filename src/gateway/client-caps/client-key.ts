// The client a connection or a request is charged to. An IPv4 address is one client, also
// when it reaches a dual-stack socket as `::ffff:a.b.c.d`. An IPv6 client is its /64: a host
// is handed a whole /64 (SLAAC needs one per link, RFC 7421; sites get more, RFC 6177) and
// takes any address in it at will (temporary addresses, RFC 8981), so counting single IPv6
// addresses would let one machine be as many clients as it likes. The price: hosts that share
// one /64 (some hosting providers do) share one client's caps.
import { isIP } from 'node:net'
import { plainAddress } from '../client-address.js'

/** `a.b.c.d` for IPv4 (mapped or not), `2001:db8:0:1::/64` for IPv6; anything else as it came. */
export function clientKey (address: string): string {
  const plain = plainAddress(address)
  if (isIP(plain) !== 6) return plain
  return `${ipv6Groups(plain).slice(0, 4).map(group => parseInt(group, 16).toString(16)).join(':')}::/64`
}

/** The eight groups of an IPv6 address, `::` expanded; an embedded IPv4 tail (never in the first 64 bits) as zeros. */
function ipv6Groups (address: string): string[] {
  const zone = address.indexOf('%')
  const bare = zone === -1 ? address : address.slice(0, zone)
  const split = (part: string): string[] => part === '' ? [] : part.split(':').flatMap(group => group.includes('.') ? ['0', '0'] : [group])
  const gap = bare.indexOf('::')
  if (gap === -1) return split(bare)
  const head = split(bare.slice(0, gap))
  const tail = split(bare.slice(gap + 2))
  return [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail]
}
