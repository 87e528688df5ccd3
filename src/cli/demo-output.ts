// The demo app's credentials and ready-to-paste calls, printed by `start` and `seed`.
import type { DemoCredentials } from '../control/demo.js'
import { signedCurl } from './sign.js'

export function printDemo (demo: DemoCredentials, gatewayUrl: string): void {
  const url = `${gatewayUrl}${demo.path}?greeting=hi`
  console.log(`
Demo app (partner "Demo Partner", API "demo", route /demo → the built-in echo upstream)
  key:     ${demo.key}
  secret:  ${demo.secret}
  apiKey:  ${demo.apiKey}

Call it with the API key:
  curl -sS -H 'X-Api-Key: ${demo.apiKey}' '${url}'

Call it with an HMAC signature (valid for 15 minutes; make a fresh one with \`partner-gateway sign\`):
  ${signedCurl({ key: demo.key, secret: demo.secret, method: 'GET', url })}
`)
}
