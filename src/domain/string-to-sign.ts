// The string-to-sign of Alibaba Cloud API Gateway's app signature, shared by the
// client-side signer (src/domain/sign-request.ts) and the gateway's verifier
// (src/gateway/auth/hmac.ts) so that the two can never drift apart.
//
//   METHOD \n Accept \n Content-MD5 \n Content-Type \n Date \n
//   name:value \n   (each signed header, sorted by name)
//   path [? sorted parameters]

export type ParameterSource = Readonly<Record<string, string | readonly string[] | undefined>>

export interface StringToSignParts {
  method: string
  accept?: string
  contentMd5?: string
  contentType?: string
  date?: string
  /** Signed headers as [name, value], the name in the casing the client listed it. */
  signedHeaders: ReadonlyArray<readonly [string, string]>
  path: string
  /** Decoded query and form parameters, one value per name (see mergeSigningParameters). */
  parameters: ReadonlyMap<string, string>
}

// These have their own line in the string-to-sign or carry the signature itself, so
// they are left out of the header block even when a client lists them.
const HEADERS_NEVER_IN_BLOCK = new Set([
  'x-ca-signature',
  'x-ca-signature-headers',
  'accept',
  'content-md5',
  'content-type',
  'date'
])

export function isExcludedFromHeaderBlock (name: string): boolean {
  return HEADERS_NEVER_IN_BLOCK.has(name.toLowerCase())
}

export function isFormContentType (contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.trimStart().toLowerCase().startsWith('application/x-www-form-urlencoded')
}

/**
 * Merges query and form parameters the way the SDKs and Alibaba's documentation do:
 * for a repeated name only the first value is signed, and a form value takes
 * precedence over a query value of the same name (the Java, Python and Go clients all
 * put the form first and add a query parameter only when its name is still absent).
 */
export function mergeSigningParameters (query: ParameterSource, form?: ParameterSource): Map<string, string> {
  const merged = new Map<string, string>()
  for (const source of form === undefined ? [query] : [form, query]) {
    for (const name of Object.keys(source)) {
      if (merged.has(name)) continue
      const value = source[name]
      const first = typeof value === 'string' ? value : value?.[0]
      if (first !== undefined) merged.set(name, first)
    }
  }
  return merged
}

// Plain code-unit order, as Java's TreeMap, Python's sorted() and JavaScript's sort()
// give for the names the SDKs produce.
function byName (left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0
}

export function buildPathAndParameters (path: string, parameters: ReadonlyMap<string, string>): string {
  if (parameters.size === 0) return path
  const names = [...parameters.keys()].sort(byName)
  const pairs = names.map(name => {
    const value = parameters.get(name) as string
    return value === '' ? name : `${name}=${value}`
  })
  return `${path}?${pairs.join('&')}`
}

export function buildStringToSign (parts: StringToSignParts): string {
  const headerBlock = parts.signedHeaders
    .filter(([name]) => !isExcludedFromHeaderBlock(name))
    .sort(([left], [right]) => byName(left, right))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('')
  return `${parts.method.toUpperCase()}\n${parts.accept ?? ''}\n${parts.contentMd5 ?? ''}\n` +
    `${parts.contentType ?? ''}\n${parts.date ?? ''}\n${headerBlock}${buildPathAndParameters(parts.path, parts.parameters)}`
}
