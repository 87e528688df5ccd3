// Example requests for an operation of the reference: parameter values and a JSON body from
// the document's examples (or made from the schemas), and the path with its parameters
// filled in. Used by the code samples and the try-it console.
import { exampleFrom, mediaExample, type Json, type Operation } from './openapi.js'

export type ParameterLocation = 'path' | 'query' | 'header'

export interface ParameterValue {
  name: string
  in: ParameterLocation
  required: boolean
  description: string
  /** the example, as text; empty when the document has none for an optional parameter */
  value: string
}

function asText (value: unknown): string {
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)
}

/** Path, query and header parameters (cookies are the browser's), prefilled where the document gives an example. */
export function exampleParameters (document: Json, operation: Operation): ParameterValue[] {
  return operation.parameters
    .filter(parameter => parameter.in === 'path' || parameter.in === 'query' || parameter.in === 'header')
    .map(parameter => {
      const required = parameter.in === 'path' || parameter.required === true
      const example = parameter.example ?? (Object.values(parameter.examples ?? {})[0] as Json | undefined)?.value ?? (required ? exampleFrom(document, parameter.schema) : undefined)
      return { name: parameter.name, in: parameter.in, required, description: parameter.description ?? '', value: asText(example ?? (required ? 'value' : undefined)) }
    })
}

/** The media type the request body is sent as: JSON when the operation takes it, else its first one. */
export function requestContentType (operation: Operation): string | undefined {
  const types = Object.keys(operation.requestBody?.content ?? {})
  return types.find(type => /^application\/(.+\+)?json\b/.test(type)) ?? types[0]
}

export function bodyExample (document: Json, operation: Operation): string | undefined {
  const type = requestContentType(operation)
  if (type === undefined) return undefined
  const example = mediaExample(document, operation.requestBody?.content?.[type] as Json | undefined)
  return example === undefined ? '' : typeof example === 'string' ? example : JSON.stringify(example, null, 2)
}

/** The operation's path with its path parameters filled in, percent-encoded. */
export function fillPath (path: string, values: readonly ParameterValue[]): string {
  return path.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const value = values.find(parameter => parameter.in === 'path' && parameter.name === name)?.value
    return value === undefined ? whole : encodeURIComponent(value)
  })
}

/** Query parameters worth sending: every one with a value. */
export function queryOf (values: readonly ParameterValue[]): Array<[string, string]> {
  return values.filter(parameter => parameter.in === 'query' && parameter.value !== '').map(parameter => [parameter.name, parameter.value])
}
