// IP allow and deny lists, for an API or for an app: addresses and CIDRs of both families,
// compiled once into node:net BlockLists. A denied address is refused even when the allow
// list names it; an allow list, when there is one, admits only the addresses it names.
import type { BlockList } from 'node:net'
import { Type, type Static } from 'typebox'
import { addressFamily, parseSubnet, subnetList } from '../../ip-subnet.js'

/** Per list: a BlockList checks its rules one by one. */
export const MAX_IP_RULES = 256

const IpRule = Type.String({ minLength: 1, maxLength: 64, description: 'an address (203.0.113.7, 2001:db8::1) or a CIDR (203.0.113.0/24, 2001:db8::/32)' })

export const IpRestrictionConfig = Type.Object({
  allow: Type.Optional(Type.Array(IpRule, { maxItems: MAX_IP_RULES, uniqueItems: true, description: 'when given, only these addresses may call' })),
  deny: Type.Optional(Type.Array(IpRule, { maxItems: MAX_IP_RULES, uniqueItems: true, description: 'these addresses may not call, even when the allow list names them' }))
}, { additionalProperties: false })
export type IpRestrictionConfig = Static<typeof IpRestrictionConfig>

/** What the schema cannot say: entries that are not addresses, and lists that would do nothing or refuse everyone. */
export function ipRestrictionProblem (config: IpRestrictionConfig): string | undefined {
  if (config.allow === undefined && config.deny === undefined) return 'ipRestriction needs an allow or a deny list (null removes the restriction)'
  if (config.allow?.length === 0) return 'ipRestriction.allow is empty: no address could call; leave it out to admit every address not denied'
  for (const list of ['allow', 'deny'] as const) {
    for (const rule of config[list] ?? []) {
      const subnet = parseSubnet(rule)
      if (typeof subnet === 'string') return `ipRestriction.${list}: ${subnet}`
    }
  }
  return undefined
}

// BlockList.check builds a SocketAddress from the string, microseconds each time; a client
// calls from the same few addresses again and again, so each list keeps its recent answers
const DECISION_CACHE_SIZE = 256

export class IpRestriction {
  /** undefined: every address not denied may call */
  readonly #allow: BlockList | undefined
  readonly #deny: BlockList | undefined
  readonly #decisions = new Map<string, boolean>()

  /** Throws on an entry that is not an address or CIDR: configurations are checked with ipRestrictionProblem before they are stored. */
  constructor (config: IpRestrictionConfig) {
    this.#allow = config.allow === undefined ? undefined : subnetList(config.allow)
    this.#deny = config.deny === undefined || config.deny.length === 0 ? undefined : subnetList(config.deny)
  }

  /**
   * Whether `address` may call. IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) match IPv4
   * rules and the reverse (BlockList compares them as one). An address that is not one — the
   * peer of a socket already gone — is refused.
   */
  admits (address: string): boolean {
    let admitted = this.#decisions.get(address)
    if (admitted === undefined) {
      admitted = this.#decide(address)
      // many addresses (an IPv6 /64 has plenty): start over rather than grow
      if (this.#decisions.size >= DECISION_CACHE_SIZE) this.#decisions.clear()
      this.#decisions.set(address, admitted)
    }
    return admitted
  }

  #decide (address: string): boolean {
    const family = addressFamily(address)
    if (family === undefined) return false
    if (this.#deny?.check(address, family) === true) return false
    return this.#allow === undefined || this.#allow.check(address, family)
  }
}
