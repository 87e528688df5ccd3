// An API's OpenAPI document as text: read from JSON or YAML, Swagger 2.0 converted to
// OpenAPI 3, kept as the operator sent it (the jsonb column reorders keys, the text does
// not), and served to partners with the gateway's public URL in place of every `servers`.
import convert from 'swagger2openapi'
import YAML, { isMap, type Document } from 'yaml'
import { InvalidOpenApiError } from '../../domain/errors.js'
import { externalRefs, isObject, validateOpenApi, type Json } from './openapi-import.js'

export type DocumentFormat = 'json' | 'yaml'

export interface SourceDocument {
  /** the parsed OpenAPI 3 document */
  document: Json
  /** the text to keep: the operator's own, or the OpenAPI 3 conversion of a Swagger 2.0 one */
  source: string
  format: DocumentFormat
  /** 'swagger-2.0' when the operator's document was converted */
  convertedFrom?: 'swagger-2.0'
}

// a document of a few MB holds no more than this many aliases; more is an alias bomb
const MAX_YAML_ALIASES = 1000

/** JSON when the text is a JSON object, YAML otherwise (JSON is YAML too, but JSON.parse is exact and fast). */
export function parseDocumentText (text: string): { document: unknown, format: DocumentFormat } {
  if (text.trimStart().startsWith('{')) {
    try {
      return { document: JSON.parse(text), format: 'json' }
    } catch (error) {
      throw new InvalidOpenApiError(`The document is not valid JSON: ${(error as Error).message}`)
    }
  }
  try {
    return { document: YAML.parse(text, { maxAliasCount: MAX_YAML_ALIASES, prettyErrors: true }), format: 'yaml' }
  } catch (error) {
    throw new InvalidOpenApiError(`The document is neither a JSON object nor valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
}

/**
 * The document ready to store: validated as OpenAPI 3.0/3.1, or converted from Swagger 2.0
 * (swagger2openapi, which resolves nothing outside the document) and then validated.
 */
export async function prepareDocument (text: string, document: unknown, format: DocumentFormat): Promise<SourceDocument> {
  if (isObject(document) && document.swagger !== undefined) {
    if (document.swagger !== '2.0') throw new InvalidOpenApiError(`Swagger ${String(document.swagger)} is not supported: only Swagger 2.0 and OpenAPI 3.0/3.1 are`)
    const external = externalRefs(document)
    if (external.length > 0) throw new InvalidOpenApiError(`External $refs are not supported; bundle the document first: ${external.join(', ')}`)
    let converted: Json
    try {
      converted = (await convert.convertObj(structuredClone(document) as never, { patch: true, warnOnly: true } as never)).openapi as unknown as Json
    } catch (error) {
      throw new InvalidOpenApiError(`The Swagger 2.0 document could not be converted to OpenAPI 3: ${(error as Error).message}`)
    }
    const validated = await validateOpenApi(converted)
    return { document: validated, source: format === 'yaml' ? YAML.stringify(validated) : JSON.stringify(validated, null, 2), format, convertedFrom: 'swagger-2.0' }
  }
  return { document: await validateOpenApi(document), source: text, format }
}

/** The format of stored text (texts stored before formats were kept are JSON). */
export function sourceFormat (source: string): DocumentFormat {
  return source.trimStart().startsWith('{') ? 'json' : 'yaml'
}

const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** The document partners get: one server, the gateway, where servers was (or after info); `servers` of paths and operations removed. */
export function partnerDocument (document: Json, publicUrl: string): Json {
  const served: Json = {}
  for (const [key, value] of Object.entries(document)) {
    if (key === 'servers') served.servers = [{ url: publicUrl }]
    else served[key] = key === 'paths' && isObject(value) ? withoutPathServers(value) : value
    if (key === 'info' && !('servers' in document)) served.servers = [{ url: publicUrl }]
  }
  served.servers ??= [{ url: publicUrl }]
  return served
}

function withoutPathServers (paths: Json): Json {
  const result: Json = {}
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) {
      result[path] = item
      continue
    }
    const { servers: _servers, ...rest } = item
    result[path] = Object.fromEntries(Object.entries(rest).map(([key, value]) => {
      if (!OPERATION_KEYS.includes(key) || !isObject(value)) return [key, value]
      const { servers: _operationServers, ...operation } = value
      return [key, operation]
    }))
  }
  return result
}

/**
 * The partner's YAML download. From a YAML source the operator's text is edited in place, so
 * key order and styles stay, status codes included (JavaScript objects put `200` before
 * `201` whatever the text said); comments are dropped, as they may be internal notes.
 */
export function partnerYaml (source: string, document: Json, publicUrl: string): string {
  if (sourceFormat(source) === 'json') return YAML.stringify(partnerDocument(document, publicUrl))
  const yaml = YAML.parseDocument(source)
  // replaced where it stands, or added at the end
  yaml.set('servers', yaml.createNode([{ url: publicUrl }]))
  removePathServers(yaml)
  YAML.visit(yaml, {
    Node (_key, node) {
      node.comment = null
      node.commentBefore = null
    }
  })
  yaml.comment = null
  yaml.commentBefore = null
  return yaml.toString()
}

function removePathServers (yaml: Document): void {
  const paths = yaml.get('paths')
  if (!isMap(paths)) return
  for (const pair of paths.items) {
    if (!isMap(pair.value)) continue
    pair.value.delete('servers')
    for (const operation of pair.value.items) {
      if (isMap(operation.value)) operation.value.delete('servers')
    }
  }
}
