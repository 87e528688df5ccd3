// `partner-gateway sign`: a curl command line with an HMAC-signed request, to try an API by hand.
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { signRequest } from '../domain/sign-request.js'

function shellQuote (text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`
}

export function signedCurl (options: { key: string, secret: string, method: string, url: string, body?: string, contentType?: string }): string {
  const url = new URL(options.url)
  const headers = signRequest({
    method: options.method,
    url: url.pathname + url.search,
    headers: options.contentType !== undefined ? { 'Content-Type': options.contentType } : {},
    body: options.body
  }, options.key, options.secret, { contentMd5: options.body !== undefined })
  const parts = ['curl', '-sS', '-X', options.method, shellQuote(options.url)]
  for (const [name, value] of Object.entries(headers)) parts.push('-H', shellQuote(`${name}: ${value}`))
  if (options.body !== undefined) parts.push('--data-binary', shellQuote(options.body))
  return parts.join(' ')
}

export async function sign (_config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { key: { type: 'string' }, secret: { type: 'string' }, method: { type: 'string', default: 'GET' }, data: { type: 'string' }, 'content-type': { type: 'string' } } })
  if (values.key === undefined || values.secret === undefined || positionals.length !== 1) throw new ConfigError('sign needs --key, --secret and one URL')
  console.log(signedCurl({ key: values.key, secret: values.secret, method: values.method.toUpperCase(), url: positionals[0], body: values.data, contentType: values['content-type'] ?? (values.data !== undefined ? 'application/json' : undefined) }))
}
