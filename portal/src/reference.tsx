// The pieces of an API reference page: schemas (compositions, $ref names, enums, formats,
// constraints, required, nullable, deprecated), parameters, response headers, security
// schemes and the document downloads. Rendered from the document alone, offline.
import type { JSX } from 'preact'
import { constraints, describeSecurityScheme, refName, resolve, typeLabel, type Json, type Operation } from './openapi.js'

const COMPOSITIONS = [['allOf', 'All of'], ['oneOf', 'One of'], ['anyOf', 'Any of']] as const
const MAX_DEPTH = 6

function Facts (props: { schema: Json, required?: boolean }): JSX.Element | null {
  const { schema } = props
  const facts = constraints(schema)
  const values = Array.isArray(schema.enum) ? schema.enum : undefined
  if (props.required !== true && schema.nullable !== true && schema.deprecated !== true && facts.length === 0 && values === undefined) return null
  return (
    <span class="facts">
      {props.required === true && <span class="required"> required</span>}
      {schema.nullable === true && <span class="badge badge-muted">nullable</span>}
      {schema.deprecated === true && <span class="badge badge-deprecated">deprecated</span>}
      {facts.map(fact => <span key={fact} class="constraint">{fact}</span>)}
      {values !== undefined && <span class="enum">one of: {values.map((value, index) => <code key={index}>{JSON.stringify(value)}</code>)}</span>}
    </span>
  )
}

/** A schema with everything it allows; $refs named, and expanded once (a cycle shows the name only). */
export function SchemaView (props: { document: Json, schema: any, depth?: number, seen?: string[] }): JSX.Element {
  const depth = props.depth ?? 0
  const seen = props.seen ?? []
  const name = refName(props.schema)
  const schema = resolve(props.document, props.schema) as Json | undefined
  if (schema === undefined || schema === null || typeof schema !== 'object') return <span class="type">any</span>
  if (depth > MAX_DEPTH || (name !== undefined && seen.includes(name))) return <span class="type">{name ?? typeLabel(props.document, schema)}</span>
  const nextSeen = name !== undefined ? [...seen, name] : seen
  const label = typeLabel(props.document, props.schema)
  const composition = COMPOSITIONS.find(([keyword]) => Array.isArray(schema[keyword]))
  const itemsSchema = schema.type === 'array' ? schema.items : undefined
  const properties = schema.properties as Json | undefined
  const required: string[] = Array.isArray(schema.required) ? schema.required : []
  const additional = schema.additionalProperties
  return (
    <div class="schema">
      <span class="type">{label}</span>
      {name !== undefined && schema.description !== undefined && depth === 0 && <span class="muted"> — {schema.description}</span>}
      <Facts schema={schema} />
      {composition !== undefined && (
        <div class="composition">
          <span class="composition-label">{composition[1]}:</span>
          <ol>{(schema[composition[0]] as unknown[]).map((part, index) => <li key={index}><SchemaView document={props.document} schema={part} depth={depth + 1} seen={nextSeen} /></li>)}</ol>
        </div>
      )}
      {itemsSchema !== undefined && (refName(itemsSchema) !== undefined || (resolve(props.document, itemsSchema) as Json | undefined)?.properties !== undefined || COMPOSITIONS.some(([keyword]) => Array.isArray((resolve(props.document, itemsSchema) as Json | undefined)?.[keyword]))) && (
        <div class="items"><span class="composition-label">Items:</span> <SchemaView document={props.document} schema={itemsSchema} depth={depth + 1} seen={nextSeen} /></div>
      )}
      {properties !== undefined && (
        <ul class="properties">
          {Object.entries(properties).map(([property, value]) => {
            const resolved = resolve(props.document, value) as Json
            return (
              <li key={property}>
                <code class="property-name">{property}</code>{required.includes(property) && <span class="required"> required</span>}{' '}
                <SchemaView document={props.document} schema={value} depth={depth + 1} seen={nextSeen} />
                {resolved?.description !== undefined && refName(value) === undefined && <span class="muted"> — {resolved.description}</span>}
              </li>
            )
          })}
        </ul>
      )}
      {additional !== undefined && additional !== false && (
        <div class="items"><span class="composition-label">Other properties:</span> {additional === true ? <span class="type">any</span> : <SchemaView document={props.document} schema={additional} depth={depth + 1} seen={nextSeen} />}</div>
      )}
    </div>
  )
}

export function ParameterTable (props: { document: Json, parameters: Json[] }): JSX.Element {
  return (
    <div class="table-wrap">
      <table>
        <caption>Parameters</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>
        <tbody>
          {props.parameters.map(parameter => {
            const schema = resolve(props.document, parameter.schema) as Json | undefined
            return (
              <tr key={`${parameter.in as string}:${parameter.name as string}`}>
                <td><code>{parameter.name}</code>{parameter.deprecated === true && <span class="badge badge-deprecated">deprecated</span>}</td>
                <td>{parameter.in}</td>
                <td><span class="type">{typeLabel(props.document, parameter.schema)}</span>{schema !== undefined && <Facts schema={schema} />}</td>
                <td>{parameter.required === true ? 'yes' : 'no'}</td>
                <td>{parameter.description ?? ''}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

export function ResponseHeaders (props: { document: Json, headers: Json | undefined, status: string }): JSX.Element | null {
  const entries = Object.entries(props.headers ?? {})
  if (entries.length === 0) return null
  return (
    <div class="table-wrap">
      <table class="headers">
        <caption>Headers of the {props.status} response</caption>
        <thead><tr><th scope="col">Header</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
        <tbody>
          {entries.map(([header, raw]) => {
            const value = resolve(props.document, raw) as Json
            const schema = resolve(props.document, value.schema) as Json | undefined
            return <tr key={header}><td><code>{header}</code></td><td><span class="type">{typeLabel(props.document, value.schema)}</span>{schema !== undefined && <Facts schema={schema} required={value.required === true} />}</td><td>{value.description ?? ''}</td></tr>
          })}
        </tbody>
      </table>
    </div>
  )
}

/** The document's security schemes, and which the operations need. */
export function SecuritySchemes (props: { document: Json }): JSX.Element | null {
  const schemes = Object.entries((props.document.components?.securitySchemes ?? {}) as Json)
  if (schemes.length === 0) return null
  return (
    <section class="card" aria-labelledby="security-title">
      <h2 id="security-title">Security schemes of the document</h2>
      <p class="hint">The gateway authenticates you with your app's credentials (above); these are the schemes the API's document declares.</p>
      <dl class="security">
        {schemes.map(([name, raw]) => {
          const scheme = resolve(props.document, raw) as Json
          return <div key={name}><dt><code>{name}</code>: {describeSecurityScheme(scheme)}</dt>{scheme.description !== undefined && <dd>{scheme.description}</dd>}</div>
        })}
      </dl>
    </section>
  )
}

export function OperationSecurity (props: { operation: Operation }): JSX.Element | null {
  const requirements = props.operation.security
  if (requirements === undefined) return null
  if (requirements.length === 0) return <p class="muted">Security: none declared</p>
  return <p class="muted">Security: {requirements.map(requirement => Object.entries(requirement).map(([name, scopes]) => scopes.length > 0 ? `${name} (${scopes.join(', ')})` : name).join(' + ')).join(' or ')}</p>
}

export function Downloads (props: { apiId: string }): JSX.Element {
  const base = `/partner/v1/apis/${encodeURIComponent(props.apiId)}/openapi`
  return (
    <p class="downloads">
      OpenAPI document: <a href={`${base}.json`} download>Download JSON</a> · <a href={`${base}.yaml`} download>Download YAML</a>
    </p>
  )
}
