// Turning an OpenAPI 3 document into an API: validation with @readme/openapi-parser (no
// remote or file $refs are ever fetched), the gateway routes its paths need, and a default
// upstream from servers[0].
//
// Routes: one prefix route per distinct first path segment, with the union of the methods
// used below it (`/pets`, `/pets/{id}` → `/pets` GET, POST, DELETE). The gateway matches
// prefixes on segment boundaries, so this covers every path of the document with few
// routes; a path whose first segment is templated (`/{tenant}/…`) needs the root prefix `/`.
import { validate } from '@readme/openapi-parser'
import { InvalidOpenApiError } from '../../domain/errors.js'

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

export interface DerivedRoute { path: string, methods: string[] }

type Json = Record<string, unknown>

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** $refs that leave the document; they are rejected rather than silently left unresolved. */
function externalRefs (value: unknown, found: string[] = []): string[] {
  if (found.length >= 5) return found
  if (Array.isArray(value)) {
    for (const item of value) externalRefs(item, found)
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string' && !item.startsWith('#')) found.push(item)
      else externalRefs(item, found)
    }
  }
  return found
}

/** Throws INVALID_OPENAPI with the parser's messages (and their line numbers) when the document is not valid OpenAPI 3.x. */
export async function validateOpenApi (document: unknown): Promise<Json> {
  if (!isObject(document)) throw new InvalidOpenApiError('The document must be a JSON object')
  if (typeof document.openapi !== 'string' || !/^3\.[01]\.\d+$/.test(document.openapi)) {
    throw new InvalidOpenApiError('Only OpenAPI 3.0 and 3.1 documents can be imported (the "openapi" field must be 3.0.x or 3.1.x)')
  }
  const external = externalRefs(document)
  if (external.length > 0) throw new InvalidOpenApiError(`External $refs are not supported; bundle the document first: ${external.join(', ')}`)
  // the parser dereferences in place: it works on a copy, the original is stored as written
  const result = await validate(structuredClone(document) as never, { resolve: { external: false, file: false }, timeoutMs: 5000 })
  if (!result.valid) {
    const messages = result.errors.map(error => {
      const line = /^>\s*(\d+) \|/m.exec(error.message)?.[1]
      return error.message.split('\n')[0] + (line !== undefined ? ` (line ${line} of the pretty-printed document)` : '')
    })
    if (result.additionalErrors > 0) messages.push(`and ${result.additionalErrors} more`)
    throw new InvalidOpenApiError(`The OpenAPI document is not valid: ${messages.join('; ')}`)
  }
  return document
}

export function deriveRoutes (document: Json): DerivedRoute[] {
  const paths = isObject(document.paths) ? document.paths : {}
  const routes = new Map<string, Set<string>>()
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue
    const first = path.split('/').filter(segment => segment !== '')[0]
    const prefix = first === undefined || first.includes('{') ? '/' : `/${first}`
    const methods = routes.get(prefix) ?? new Set<string>()
    for (const method of HTTP_METHODS) if (isObject(item[method])) methods.add(method.toUpperCase())
    routes.set(prefix, methods)
  }
  return [...routes.entries()]
    .filter(([, methods]) => methods.size > 0)
    .map(([path, methods]) => ({ path, methods: [...methods].sort() }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

/** The absolute URL of servers[0], with its variables set to their defaults; undefined when there is none. */
export function defaultServerUrl (document: Json): string | undefined {
  const servers = Array.isArray(document.servers) ? document.servers : []
  const server = servers[0]
  if (!isObject(server) || typeof server.url !== 'string') return undefined
  const variables = isObject(server.variables) ? server.variables : {}
  const url = server.url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const variable = variables[name]
    return isObject(variable) && typeof variable.default === 'string' ? variable.default : whole
  })
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined
    return url.replace(/\/+$/, '')
  } catch {
    return undefined
  }
}

export function documentTitle (document: Json): { title: string | undefined, description: string } {
  const info = isObject(document.info) ? document.info : {}
  return {
    title: typeof info.title === 'string' && info.title.trim() !== '' ? info.title.trim() : undefined,
    description: typeof info.description === 'string' ? info.description : typeof info.summary === 'string' ? info.summary : ''
  }
}
