// Addresses and CIDRs of both families as node:net BlockList subnets: the trusted proxies
// and the IP restrictions read their entries alike.
import { BlockList, isIP } from 'node:net'

export type AddressFamily = 'ipv4' | 'ipv6'

export interface Subnet {
  address: string
  prefix: number
  family: AddressFamily
}

export function addressFamily (address: string): AddressFamily | undefined {
  const family = isIP(address)
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : undefined
}

/** An address (a subnet of one) or a CIDR, or why it is neither. */
export function parseSubnet (entry: string): Subnet | string {
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  // isIP takes `fe80::1%eth0`; a zone names an interface of one host, meaningless in a shared list
  const family = address.includes('%') ? undefined : addressFamily(address)
  if (family === undefined) return `${entry} is not an IP address or CIDR`
  const bits = family === 'ipv4' ? 32 : 128
  if (slash === -1) return { address, prefix: bits, family }
  const prefix = entry.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `${entry} is not a CIDR: the prefix length of an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address is 0 to ${bits}`
  return { address, prefix: Number(prefix), family }
}

/** The entries as one BlockList; throws with the first entry that is not an address or CIDR. */
export function subnetList (entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const subnet = parseSubnet(entry)
    if (typeof subnet === 'string') throw new Error(subnet)
    list.addSubnet(subnet.address, subnet.prefix, subnet.family)
  }
  return list
}
