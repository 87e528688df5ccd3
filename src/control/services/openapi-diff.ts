// What a new version of an API's document changes: the gateway routes it needs, reconciled
// with the current ones (a route kept keeps its id, host and options), and the operations
// and schemas partners see. Pure functions: the route handler applies the plan.
import type { NormalisedRoute } from './api-routes.js'
import { isObject, pathMethods, type DerivedRoute, type Json } from './openapi-import.js'

export interface CurrentRoute {
  id: string
  path: string
  methods: string[]
  host: string | null
  stripPrefix: boolean
  websocket: boolean
}

export interface RouteDiff {
  added: Array<{ path: string, methods: string[] }>
  removed: Array<{ path: string, methods: string[] }>
  changed: Array<{ path: string, methodsBefore: string[], methodsAfter: string[] }>
}

export interface RoutePlan {
  create: NormalisedRoute[]
  update: Array<{ id: string, methods: string[] }>
  remove: string[]
  /** every route the API has once the plan is applied, for the clash check */
  result: NormalisedRoute[]
  diff: RouteDiff
}

export interface ChangeList { added: string[], removed: string[], changed: string[] }

export interface DocumentDiff {
  version: { before: string | null, after: string | null }
  routes: RouteDiff
  operations: ChangeList
  schemas: ChangeList
}

const sameMethods = (left: string[], right: string[]): boolean => left.length === right.length && left.every((method, index) => method === right[index])

/**
 * WebSocket routes stay as they are (a document cannot describe them); every other route is
 * matched to a derived one by its path: kept, given the new methods, or removed.
 */
export function reconcileRoutes (current: CurrentRoute[], derived: DerivedRoute[], stripPrefix: boolean): RoutePlan {
  const plan: RoutePlan = { create: [], update: [], remove: [], result: [], diff: { added: [], removed: [], changed: [] } }
  const http = current.filter(route => !route.websocket)
  for (const route of current.filter(route => route.websocket)) plan.result.push(route)
  for (const wanted of derived) {
    const existing = http.find(route => route.path === wanted.path)
    if (existing === undefined) {
      const created = { path: wanted.path, methods: wanted.methods, host: null, stripPrefix, websocket: false }
      plan.create.push(created)
      plan.result.push(created)
      plan.diff.added.push({ path: wanted.path, methods: wanted.methods })
      continue
    }
    const before = [...existing.methods].sort()
    if (!sameMethods(before, wanted.methods)) {
      plan.update.push({ id: existing.id, methods: wanted.methods })
      plan.diff.changed.push({ path: wanted.path, methodsBefore: before, methodsAfter: wanted.methods })
    }
    plan.result.push({ ...existing, methods: wanted.methods })
  }
  for (const route of http) {
    if (derived.some(wanted => wanted.path === route.path)) continue
    plan.remove.push(route.id)
    plan.diff.removed.push({ path: route.path, methods: [...route.methods].sort() })
  }
  return plan
}

/** JSON with object keys sorted: two versions that differ only in key order are the same. */
function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (isObject(value)) return `{${Object.keys(value).sort().map(key => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`
  return JSON.stringify(value) ?? 'null'
}

function changes (before: Map<string, string>, after: Map<string, string>): ChangeList {
  return {
    added: [...after.keys()].filter(key => !before.has(key)),
    removed: [...before.keys()].filter(key => !after.has(key)),
    changed: [...after.keys()].filter(key => before.has(key) && before.get(key) !== after.get(key))
  }
}

/** `GET /pets/{id}` → the operation with its path-level parameters, canonical. */
function operationsOf (document: Json | null): Map<string, string> {
  const result = new Map<string, string>()
  if (document === null) return result
  const paths = isObject(document.paths) ? document.paths : {}
  for (const { path, methods } of pathMethods(document)) {
    const item = paths[path] as Json
    for (const method of methods) result.set(`${method} ${path}`, canonical({ parameters: item.parameters, operation: item[method.toLowerCase()] }))
  }
  return result
}

function schemasOf (document: Json | null): Map<string, string> {
  const components = document !== null && isObject(document.components) ? document.components : {}
  const schemas = isObject(components.schemas) ? components.schemas : {}
  return new Map(Object.entries(schemas).map(([name, schema]) => [name, canonical(schema)]))
}

function versionOf (document: Json | null): string | null {
  const info = document !== null && isObject(document.info) ? document.info : {}
  return typeof info.version === 'string' ? info.version : null
}

export function documentDiff (before: Json | null, after: Json, routes: RouteDiff): DocumentDiff {
  return {
    version: { before: versionOf(before), after: versionOf(after) },
    routes,
    operations: changes(operationsOf(before), operationsOf(after)),
    schemas: changes(schemasOf(before), schemasOf(after))
  }
}
