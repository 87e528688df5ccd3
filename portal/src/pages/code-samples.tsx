// Code samples for one operation, in the languages the API's authentication modes allow,
// filled with the chosen app's key and the operation's example values.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { CopyButton } from '../components.js'
import type { Json, Operation } from '../openapi.js'
import { bodyExample, exampleParameters, fillPath, queryOf, requestContentType } from '../operation-request.js'
import { snippet, snippetLanguagesFor, type SnippetLanguage, type SnippetRequest } from '../snippets.js'

function sampleRequest (document: Json, operation: Operation, baseUrl: string, key: string): SnippetRequest {
  const parameters = exampleParameters(document, operation)
  const example = /json/.test(requestContentType(operation) ?? '') ? bodyExample(document, operation) : undefined
  let body: string | undefined
  try {
    body = example === undefined || example === '' ? undefined : JSON.stringify(JSON.parse(example))
  } catch {
    body = example
  }
  return { method: operation.method, baseUrl, path: fillPath(operation.path, parameters), query: queryOf(parameters), body, key }
}

export function CodeSamples (props: { document: Json, operation: Operation, baseUrl: string, appKey: string, auth: readonly string[] }): JSX.Element {
  const languages = snippetLanguagesFor(props.auth)
  const [chosen, setChosen] = useState<SnippetLanguage | undefined>(undefined)
  if (languages.length === 0) return <p class="muted">This API accepts OAuth2 tokens only: send <code>Authorization: Bearer …</code> with a token from the token endpoint.</p>
  const language = languages.find(entry => entry.id === chosen) ?? languages[0]
  const code = snippet(language.id, sampleRequest(props.document, props.operation, props.baseUrl, props.appKey))
  return (
    <div class="snippets">
      <div class="button-row" role="group" aria-label="Code sample language">
        {languages.map(option => (
          <button key={option.id} type="button" class="small secondary" aria-pressed={language.id === option.id} onClick={() => { setChosen(option.id) }}>{option.label}</button>
        ))}
      </div>
      <div class="code-block"><div class="code-head"><span>{language.label} — {language.file}</span><CopyButton text={code} label={`${language.label} sample`} /></div><pre id={`${props.operation.id}-snippet`}><code>{code}</code></pre></div>
    </div>
  )
}
