// Searching the API catalog: by name, description, tags and operations (path, summary,
// operationId). Every word of the query must occur somewhere in the API (case-insensitive);
// results come best first (name, then tags, description, operations), and each names the
// operations that match the most words.
import { isObject, pathMethods, type Json } from './openapi-import.js'

export interface CatalogOperation { method: string, path: string, summary: string }

export interface SearchableApi {
  name: string
  description: string
  document: Json | null
  routes: Array<{ path: string, methods: string[] }>
}

/** Tag names: the document's list first, then those only operations use. */
export function documentTags (document: Json | null): string[] {
  if (document === null) return []
  const tags: string[] = []
  const add = (tag: unknown): void => { if (typeof tag === 'string' && !tags.includes(tag)) tags.push(tag) }
  if (Array.isArray(document.tags)) for (const tag of document.tags) if (isObject(tag)) add(tag.name)
  for (const { operation } of documentOperations(document)) if (Array.isArray(operation.tags)) operation.tags.forEach(add)
  return tags
}

function documentOperations (document: Json): Array<{ method: string, path: string, operation: Json }> {
  const paths = isObject(document.paths) ? document.paths : {}
  return pathMethods(document).flatMap(({ path, methods }) => methods.map(method => ({ method, path, operation: (paths[path] as Json)[method.toLowerCase()] as Json })))
}

function text (...values: unknown[]): string {
  return values.filter(value => typeof value === 'string').join(' ').toLowerCase()
}

export function queryTerms (query: string): string[] {
  return [...new Set(query.toLowerCase().split(/\s+/).filter(term => term !== ''))]
}

export interface SearchHit { score: number, operations: CatalogOperation[] }

/** undefined when some word of the query occurs nowhere in the API. */
export function searchApi (api: SearchableApi, terms: string[]): SearchHit | undefined {
  const document = api.document
  const name = api.name.toLowerCase()
  const about = text(api.description, isObject(document?.info) ? document.info.title : undefined, isObject(document?.info) ? document.info.description : undefined)
  const tags = text(...documentTags(document), ...(Array.isArray(document?.tags) ? document.tags.map(tag => isObject(tag) ? tag.description : undefined) : []))
  const operations = document !== null
    ? documentOperations(document).map(({ method, path, operation }) => ({
      found: { method, path, summary: typeof operation.summary === 'string' ? operation.summary : '' },
      text: text(method, path, operation.summary, operation.operationId, ...(Array.isArray(operation.tags) ? operation.tags : []))
    }))
    // an API without a document is searched by its routes
    : api.routes.map(route => ({ found: { method: route.methods.join(', '), path: route.path, summary: '' }, text: route.path.toLowerCase() }))
  let score = 0
  for (const term of terms) {
    const inName = name.includes(term)
    const inAbout = about.includes(term)
    const inTags = tags.includes(term)
    const inOperations = operations.some(operation => operation.text.includes(term))
    if (!inName && !inAbout && !inTags && !inOperations) return undefined
    score += (inName ? 8 : 0) + (inTags ? 4 : 0) + (inAbout ? 2 : 0) + (inOperations ? 1 : 0)
  }
  // the operations that match the most words of the query
  const counts = operations.map(operation => terms.filter(term => operation.text.includes(term)).length)
  const best = Math.max(0, ...counts)
  return { score, operations: best === 0 ? [] : operations.filter((_operation, index) => counts[index] === best).map(operation => operation.found) }
}
