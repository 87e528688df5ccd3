// What the token issuer (control plane) and the token verifier (gateway) must agree on.
import type { Config } from '../config/schema.js'

export const TOKEN_AUDIENCE = 'partner-gateway'
export const TOKEN_ALGORITHM = 'EdDSA'
/** Leeway for exp/nbf between the clocks of the control server and the gateways. */
export const CLOCK_TOLERANCE_SECONDS = 30

/** The `iss` of every token: PUBLIC_URL, or the control server on this host. */
export function tokenIssuer (config: Config): string {
  return (config.publicUrl ?? `http://localhost:${config.controlPort}`).replace(/\/+$/, '')
}
