// Which peers count as inside the operator's network (for /metrics on the gateway port).
const INTERNAL_ADDRESS = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd][0-9a-f]{2}:|::ffff:(127|10)\.|::ffff:192\.168\.|::ffff:172\.(1[6-9]|2\d|3[01])\.)/i

export function isInternalAddress (address: string | undefined): boolean {
  return address !== undefined && INTERNAL_ADDRESS.test(address)
}
