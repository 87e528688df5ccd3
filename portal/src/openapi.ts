// Reading an OpenAPI 3 document for the reference pages: local $refs, operations grouped
// by tag, what a schema allows (types, compositions, enums, constraints), and example
// values made from schemas when the document gives none.
export type Json = Record<string, any>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** Follows a local `#/…` $ref (several levels); returns the object itself otherwise. */
export function resolve (document: Json, value: any, seen: Set<string> = new Set()): any {
  if (value === null || typeof value !== 'object' || typeof value.$ref !== 'string') return value
  const ref: string = value.$ref
  if (!ref.startsWith('#/') || seen.has(ref)) return { description: `(${ref})` }
  seen.add(ref)
  let target: any = document
  for (const part of ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  return resolve(document, target ?? {}, seen)
}

/** The name a local $ref points at: `#/components/schemas/Pet` → `Pet`. */
export function refName (value: any): string | undefined {
  if (value === null || typeof value !== 'object' || typeof value.$ref !== 'string') return undefined
  const ref: string = value.$ref
  return ref.startsWith('#/') ? ref.slice(ref.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~') : ref
}

/** The anchor of an operation on the reference page. */
export function operationAnchor (method: string, path: string): string {
  return `${method.toLowerCase()}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-')
}

export interface Operation {
  id: string
  method: string
  path: string
  summary: string
  description: string
  operationId?: string
  tags: string[]
  parameters: Json[]
  requestBody?: Json
  responses: Array<[string, Json]>
  /** names of the security schemes one of which the operation needs; undefined = the document's default */
  security?: Array<Record<string, string[]>>
  deprecated: boolean
}

export function operations (document: Json): Operation[] {
  const result: Operation[] = []
  for (const [path, rawItem] of Object.entries(document.paths ?? {})) {
    const item = resolve(document, rawItem) as Json
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined
      if (operation === undefined) continue
      const parameters = new Map<string, Json>()
      for (const raw of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
        const parameter = resolve(document, raw) as Json
        parameters.set(`${parameter.in}:${parameter.name}`, parameter)
      }
      result.push({
        id: operationAnchor(method, path),
        method: method.toUpperCase(),
        path,
        summary: operation.summary ?? '',
        description: operation.description ?? '',
        operationId: operation.operationId,
        tags: Array.isArray(operation.tags) ? operation.tags : [],
        security: operation.security ?? document.security,
        parameters: [...parameters.values()],
        requestBody: operation.requestBody !== undefined ? resolve(document, operation.requestBody) : undefined,
        responses: Object.entries(operation.responses ?? {}).map(([status, response]) => [status, resolve(document, response)]),
        deprecated: operation.deprecated === true
      })
    }
  }
  return result
}

export interface TagGroup { tag: string, description: string, operations: Operation[] }

/** Operations under their first tag: the document's tags in its order, then the others, then the untagged. */
export function groupByTag (document: Json, ops: Operation[]): TagGroup[] {
  const groups = new Map<string, TagGroup>()
  for (const tag of Array.isArray(document.tags) ? document.tags : []) {
    if (typeof tag?.name === 'string') groups.set(tag.name, { tag: tag.name, description: tag.description ?? '', operations: [] })
  }
  for (const operation of ops) {
    const tag = operation.tags[0] ?? ''
    if (!groups.has(tag)) groups.set(tag, { tag, description: '', operations: [] })
    groups.get(tag)?.operations.push(operation)
  }
  const result = [...groups.values()].filter(group => group.operations.length > 0)
  // the untagged go last, under no heading when nothing is tagged
  return [...result.filter(group => group.tag !== ''), ...result.filter(group => group.tag === '')]
}

/** A short type: the $ref name, `array of …`, the type with its format, `| null` when nullable. */
export function typeLabel (document: Json, raw: any, depth = 0): string {
  const name = refName(raw)
  if (name !== undefined) return name
  const schema = raw as Json | undefined
  if (schema === undefined || schema === null || typeof schema !== 'object' || depth > 4) return 'any'
  const nullable = schema.nullable === true ? ' | null' : ''
  for (const [keyword, label] of [['allOf', 'all of'], ['oneOf', 'one of'], ['anyOf', 'any of']] as const) {
    if (Array.isArray(schema[keyword]) && schema.type === undefined && schema.properties === undefined) {
      return `${label} (${(schema[keyword] as unknown[]).map(part => typeLabel(document, part, depth + 1)).join(keyword === 'allOf' ? ' & ' : ' | ')})${nullable}`
    }
  }
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type !== undefined ? [schema.type] : [schema.properties !== undefined ? 'object' : 'any']
  const label = types.map(type => type === 'array' ? `array of ${typeLabel(document, schema.items, depth + 1)}` : type).join(' | ')
  return `${label}${schema.format !== undefined ? ` (${String(schema.format)})` : ''}${nullable}`
}

const show = (value: unknown): string => typeof value === 'string' ? value : JSON.stringify(value)

/** What a schema allows beyond its type, in words: bounds, lengths, pattern, default, access. */
export function constraints (raw: any): string[] {
  const schema = raw as Json | undefined
  if (schema === undefined || schema === null || typeof schema !== 'object') return []
  const result: string[] = []
  const range = (low: unknown, high: unknown, noun: string): void => {
    if (low !== undefined && high !== undefined) result.push(low === high ? `${noun} exactly ${show(low)}` : `${noun} ${show(low)}–${show(high)}`)
    else if (low !== undefined) result.push(`${noun} at least ${show(low)}`)
    else if (high !== undefined) result.push(`${noun} at most ${show(high)}`)
  }
  const minimum = typeof schema.exclusiveMinimum === 'number' ? undefined : schema.minimum
  const maximum = typeof schema.exclusiveMaximum === 'number' ? undefined : schema.maximum
  if (minimum !== undefined) result.push(`${schema.exclusiveMinimum === true ? '>' : '≥'} ${show(minimum)}`)
  if (typeof schema.exclusiveMinimum === 'number') result.push(`> ${schema.exclusiveMinimum}`)
  if (maximum !== undefined) result.push(`${schema.exclusiveMaximum === true ? '<' : '≤'} ${show(maximum)}`)
  if (typeof schema.exclusiveMaximum === 'number') result.push(`< ${schema.exclusiveMaximum}`)
  if (schema.multipleOf !== undefined) result.push(`multiple of ${show(schema.multipleOf)}`)
  range(schema.minLength, schema.maxLength, 'length')
  range(schema.minItems, schema.maxItems, 'items')
  range(schema.minProperties, schema.maxProperties, 'properties')
  if (schema.uniqueItems === true) result.push('unique items')
  if (schema.pattern !== undefined) result.push(`pattern ${show(schema.pattern)}`)
  if (schema.default !== undefined) result.push(`default ${show(schema.default)}`)
  if (schema.const !== undefined) result.push(`always ${show(schema.const)}`)
  if (schema.readOnly === true) result.push('read-only')
  if (schema.writeOnly === true) result.push('write-only')
  return result
}

/** A security scheme in words: `API key in header X-Api-Key`, `HTTP bearer (JWT)`, `OAuth2 (clientCredentials)`. */
export function describeSecurityScheme (scheme: Json): string {
  if (scheme.type === 'apiKey') return `API key in ${String(scheme.in)} ${String(scheme.name)}`
  if (scheme.type === 'http') return `HTTP ${String(scheme.scheme)}${scheme.bearerFormat !== undefined ? ` (${String(scheme.bearerFormat)})` : ''}`
  if (scheme.type === 'oauth2') return `OAuth2 (${Object.keys(scheme.flows ?? {}).join(', ')})`
  if (scheme.type === 'openIdConnect') return 'OpenID Connect'
  if (scheme.type === 'mutualTLS') return 'Mutual TLS'
  return String(scheme.type)
}

/** An example value: the document's own, else one built from the schema. */
export function exampleFrom (document: Json, raw: any, depth = 0): unknown {
  const schema = resolve(document, raw) as Json | undefined
  if (schema === undefined || depth > 6) return null
  if (schema.example !== undefined) return schema.example
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0]
  if (schema.default !== undefined) return schema.default
  if (Array.isArray(schema.enum)) return schema.enum[0]
  const variant = schema.oneOf?.[0] ?? schema.anyOf?.[0]
  if (variant !== undefined) return exampleFrom(document, variant, depth + 1)
  if (Array.isArray(schema.allOf)) return Object.assign({}, ...schema.allOf.map((part: unknown) => exampleFrom(document, part, depth + 1)))
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  if (type === 'object' || schema.properties !== undefined) {
    return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, exampleFrom(document, property, depth + 1)]))
  }
  if (type === 'array') return [exampleFrom(document, schema.items, depth + 1)]
  if (type === 'integer' || type === 'number') return schema.minimum ?? 1
  if (type === 'boolean') return true
  if (type === 'string') return schema.format === 'date-time' ? '2026-01-01T00:00:00Z' : schema.format === 'date' ? '2026-01-01' : schema.format === 'uuid' ? '00000000-0000-0000-0000-000000000000' : 'string'
  return null
}

export function mediaExample (document: Json, media: Json | undefined): unknown {
  if (media === undefined) return undefined
  if (media.example !== undefined) return media.example
  const first = Object.values(media.examples ?? {})[0] as Json | undefined
  if (first !== undefined) return resolve(document, first).value
  return media.schema !== undefined ? exampleFrom(document, media.schema) : undefined
}
