// Turning an OpenAPI 3 document into an API: validation with @readme/openapi-parser (no
// remote or file $refs are ever fetched), the gateway routes its paths need, and a default
// upstream from servers[0].
//
// Routes: one prefix route per distinct first path segment, with the union of the methods
// used below it (`/pets`, `/pets/{id}` → `/pets` GET, POST, DELETE). The gateway matches
// prefixes on segment boundaries, so this covers every path of the document with few
// routes. A path whose first segment is templated (`/{tenant}/…`) has no such prefix: the
// operator gives one (basePath: one route, stripped before proxying), or asks for the
// catch-all `/` explicitly, which would otherwise answer every unknown path with a 401.
import { validate } from '@readme/openapi-parser'
import { InvalidOpenApiError, ReservedPathError, RoutePrefixRequiredError } from '../../domain/errors.js'
import { isReservedPath } from '../../domain/reserved-paths.js'

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

export interface DerivedRoute { path: string, methods: string[] }

export type Json = Record<string, unknown>

export function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** $refs that leave the document; they are rejected rather than silently left unresolved. */
export function externalRefs (value: unknown, found: string[] = []): string[] {
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

export interface RouteOptions {
  /** a normalised route prefix every path of the document is served under */
  basePath?: string
  /** route the paths that start with a template to `/` */
  catchAll?: boolean
  /** the API's name, to suggest a prefix */
  name?: string
}

/** The methods of each path of the document, in the document's order. */
export function pathMethods (document: Json): Array<{ path: string, methods: string[] }> {
  const paths = isObject(document.paths) ? document.paths : {}
  return Object.entries(paths)
    .filter((entry): entry is [string, Json] => isObject(entry[1]))
    .map(([path, item]) => ({ path, methods: HTTP_METHODS.filter(method => isObject(item[method])).map(method => method.toUpperCase()) }))
    .filter(entry => entry.methods.length > 0)
}

function slug (name: string | undefined): string {
  const words = (name ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return words === '' ? 'my-api' : words
}

export function deriveRoutes (document: Json, options: RouteOptions = {}): DerivedRoute[] {
  const paths = pathMethods(document)
  if (options.basePath !== undefined && options.basePath !== '/') {
    const methods = new Set(paths.flatMap(entry => entry.methods))
    return methods.size === 0 ? [] : [{ path: options.basePath, methods: [...methods].sort() }]
  }
  const routes = new Map<string, Set<string>>()
  for (const { path, methods } of paths) {
    const first = path.split('/').filter(segment => segment !== '')[0]
    let prefix: string
    if (first === undefined || first.includes('{')) {
      if (options.catchAll !== true) {
        const suggestion = `/${slug(options.name)}`
        throw new RoutePrefixRequiredError(`The path ${path} starts with ${first === undefined ? 'the root' : `a template (${first})`}, which the gateway cannot route on without taking every path. ` +
          `Give a route prefix to serve the API under, e.g. basePath=${suggestion}: partners then call ${suggestion}${path === '/' ? '' : path} and the upstream gets ${path}. ` +
          'Or give catchAll=true to send every path no other API claims to this API.')
      }
      prefix = '/'
    } else {
      prefix = `/${first}`
      if (isReservedPath(prefix)) {
        throw new ReservedPathError(`The path ${path} is below ${prefix}, which the gateway answers itself: give a route prefix to serve the API under, e.g. basePath=/${slug(options.name)}`)
      }
    }
    const known = routes.get(prefix) ?? new Set<string>()
    for (const method of methods) known.add(method)
    routes.set(prefix, known)
  }
  return [...routes.entries()]
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
