// Reading an OpenAPI 3 document for the reference pages: local $refs, operations, and
// example values made from schemas when the document gives none.
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

export interface Operation {
  id: string
  method: string
  path: string
  summary: string
  description: string
  parameters: Json[]
  requestBody?: Json
  responses: Array<[string, Json]>
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
        id: `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-'),
        method: method.toUpperCase(),
        path,
        summary: operation.summary ?? '',
        description: operation.description ?? '',
        parameters: [...parameters.values()],
        requestBody: operation.requestBody !== undefined ? resolve(document, operation.requestBody) : undefined,
        responses: Object.entries(operation.responses ?? {}).map(([status, response]) => [status, resolve(document, response)]),
        deprecated: operation.deprecated === true
      })
    }
  }
  return result
}

export function typeLabel (document: Json, raw: any): string {
  const schema = resolve(document, raw) as Json | undefined
  if (schema === undefined) return 'any'
  if (schema.type === 'array') return `array of ${typeLabel(document, schema.items)}`
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type ?? (schema.properties !== undefined ? 'object' : schema.oneOf !== undefined ? 'one of' : schema.anyOf !== undefined ? 'any of' : 'any')
  return schema.format !== undefined ? `${type as string} (${schema.format as string})` : String(type)
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
