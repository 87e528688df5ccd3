// The try-it console of an operation: a form with its parameters and example body that calls
// the real API through the gateway from the browser, with an API key, an HMAC signature
// computed here (the secret is typed, used for this request and kept nowhere else) or an
// OAuth2 token, and shows the status, headers, body and duration. The gateway must allow
// the portal's origin for the API (CORS), which the operator sets up.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { canSignInBrowser, serverStringToSign, signInBrowser } from '../browser-signer.js'
import type { Json, Operation } from '../openapi.js'
import { bodyExample, exampleParameters, fillPath, queryOf, requestContentType, type ParameterValue } from '../operation-request.js'

type Mode = 'apikey' | 'hmac' | 'jwt'
const MODE_LABELS: Record<Mode, string> = { apikey: 'API key', hmac: 'HMAC signature', jwt: 'OAuth2 token' }
const SHOWN_BODY_CHARACTERS = 100_000

interface Answer {
  status: number
  statusText: string
  milliseconds: number
  headers: Array<[string, string]>
  body: string
  /** on a refused signature: what the gateway signed and what the browser did, newlines as # */
  signatures?: { server: string, browser: string }
}

function prettyBody (text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text.length > SHOWN_BODY_CHARACTERS ? `${text.slice(0, SHOWN_BODY_CHARACTERS)}\n… (${text.length.toLocaleString()} characters in all)` : text
  }
}

function errorCode (text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code
  } catch {
    return undefined
  }
}

function AnswerView (props: { answer: Answer, id: string }): JSX.Element {
  const { answer } = props
  return (
    <section class="try-answer" aria-labelledby={`${props.id}-answer`}>
      <h5 id={`${props.id}-answer`}>Response <span class={`status-code status-${String(answer.status).charAt(0)}xx`}>{answer.status} {answer.statusText}</span> <span class="muted">in {answer.milliseconds.toLocaleString()} ms</span></h5>
      {answer.signatures !== undefined && (
        <div class="message error">
          <p><strong>The signature does not match.</strong> The gateway computed the string-to-sign below (newlines shown as #); compare it with the one the browser signed. If they are equal, the secret is wrong.</p>
          <p class="signature-label">Gateway (X-Ca-Error-Message)</p>
          <pre data-testid="server-string-to-sign">{answer.signatures.server}</pre>
          <p class="signature-label">Browser</p>
          <pre>{answer.signatures.browser}</pre>
        </div>
      )}
      <details>
        <summary>Headers ({answer.headers.length})</summary>
        <p class="hint">A browser shows only the headers the gateway exposes to pages of other origins.</p>
        <pre>{answer.headers.map(([name, value]) => `${name}: ${value}`).join('\n')}</pre>
      </details>
      <p class="signature-label" id={`${props.id}-body-label`}>Body</p>
      <pre class="try-body" aria-labelledby={`${props.id}-body-label`}>{answer.body === '' ? '(empty body)' : prettyBody(answer.body)}</pre>
    </section>
  )
}

export function TryIt (props: { document: Json, operation: Operation, baseUrl: string, appKey: string | undefined, auth: readonly string[] }): JSX.Element {
  const { operation } = props
  const id = `${operation.id}-try`
  const modes = (['apikey', 'hmac', 'jwt'] as const).filter(mode => props.auth.includes(mode))
  const contentType = requestContentType(operation)
  const sendsBody = contentType !== undefined && operation.method !== 'GET' && operation.method !== 'HEAD'
  const [values, setValues] = useState<ParameterValue[]>(() => exampleParameters(props.document, operation))
  const [body, setBody] = useState(() => bodyExample(props.document, operation) ?? '')
  const [mode, setMode] = useState<Mode>(modes[0] ?? 'apikey')
  const [apiKey, setApiKey] = useState('')
  const [appKey, setAppKey] = useState(props.appKey ?? '')
  // the chosen app's key arrives after the page, and changes with the app chosen above
  useEffect(() => { if (props.appKey !== undefined) setAppKey(props.appKey) }, [props.appKey])
  const [secret, setSecret] = useState('')
  const [token, setToken] = useState('')
  const [busy, setBusy] = useState(false)
  const [answer, setAnswer] = useState<Answer | undefined>(undefined)
  const [failure, setFailure] = useState<string | undefined>(undefined)

  const setValue = (index: number, value: string): void => { setValues(current => current.map((parameter, at) => (at === index ? { ...parameter, value } : parameter))) }

  async function send (event: Event): Promise<void> {
    event.preventDefault()
    setBusy(true)
    setAnswer(undefined)
    setFailure(undefined)
    try {
      const url = new URL(props.baseUrl + fillPath(operation.path, values))
      for (const [name, value] of queryOf(values)) url.searchParams.append(name, value)
      const headers: Record<string, string> = { accept: 'application/json' }
      for (const parameter of values) if (parameter.in === 'header' && parameter.value !== '') headers[parameter.name.toLowerCase()] = parameter.value
      if (sendsBody) headers['content-type'] = contentType as string
      let browserStringToSign: string | undefined
      if (mode === 'apikey') headers['x-api-key'] = apiKey
      if (mode === 'jwt') headers.authorization = `Bearer ${token}`
      if (mode === 'hmac') {
        const signature = await signInBrowser({ method: operation.method, url, accept: headers.accept, contentType: headers['content-type'], body: sendsBody ? body : undefined }, appKey, secret)
        Object.assign(headers, signature.headers)
        browserStringToSign = signature.stringToSign
      }
      const started = performance.now()
      let response: Response
      let text: string
      try {
        response = await fetch(url, { method: operation.method, headers, body: sendsBody ? body : undefined, mode: 'cors', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' })
        text = await response.text()
      } catch {
        setFailure(`The browser got no answer it may read from ${url.origin}. Either the gateway cannot be reached from here, or it does not allow this page's origin (${location.origin}) for this API: the operator enables it with the API's CORS settings (cors.portal) and the portalOrigin setting.`)
        return
      }
      const server = response.status === 401 && errorCode(text) === 'BAD_SIGNATURE' ? serverStringToSign(response.headers.get('x-ca-error-message')) : undefined
      setAnswer({
        status: response.status,
        statusText: response.statusText,
        milliseconds: Math.round(performance.now() - started),
        headers: [...response.headers],
        body: text,
        signatures: server !== undefined && browserStringToSign !== undefined ? { server, browser: browserStringToSign.replace(/\n/g, '#') } : undefined
      })
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(false)
    }
  }

  if (modes.length === 0) return <p class="muted">This API accepts no credential the console can send.</p>
  return (
    <form class="try-it" aria-label={`Try ${operation.method} ${operation.path}`} onSubmit={event => { void send(event) }}>
      <p class="hint">Calls <code>{props.baseUrl}</code> from this browser, counted against your app's plan like any call. Credentials you type here are used for this request only and are not stored.</p>
      {values.length > 0 && (
        <fieldset>
          <legend>Parameters</legend>
          {values.map((parameter, index) => (
            <div class="field" key={`${parameter.in}:${parameter.name}`}>
              <label for={`${id}-${parameter.in}-${parameter.name}`}>{parameter.name} <span class="muted small-text">({parameter.in}{parameter.required ? ', required' : ''})</span></label>
              <input id={`${id}-${parameter.in}-${parameter.name}`} value={parameter.value} required={parameter.required} aria-describedby={parameter.description !== '' ? `${id}-${parameter.in}-${parameter.name}-hint` : undefined} onInput={event => { setValue(index, event.currentTarget.value) }} />
              {parameter.description !== '' && <p class="hint" id={`${id}-${parameter.in}-${parameter.name}-hint`}>{parameter.description}</p>}
            </div>
          ))}
        </fieldset>
      )}
      {sendsBody && (
        <div class="field">
          <label for={`${id}-body`}>Request body <span class="muted small-text">({contentType})</span></label>
          <textarea id={`${id}-body`} class="mono" rows={Math.min(16, Math.max(4, body.split('\n').length + 1))} value={body} onInput={event => { setBody(event.currentTarget.value) }} />
        </div>
      )}
      <fieldset>
        <legend>Credentials</legend>
        {modes.length > 1 && (
          <div class="button-row" role="radiogroup" aria-label="Authentication">
            {modes.map(option => (
              <label key={option} class="radio"><input type="radio" name={`${id}-mode`} value={option} checked={mode === option} onChange={() => { setMode(option) }} /> {MODE_LABELS[option]}</label>
            ))}
          </div>
        )}
        {mode === 'apikey' && (
          <div class="field">
            <label for={`${id}-api-key`}>API key</label>
            <input id={`${id}-api-key`} type="password" autocomplete="off" required value={apiKey} onInput={event => { setApiKey(event.currentTarget.value) }} />
          </div>
        )}
        {mode === 'hmac' && (
          <>
            <div class="field">
              <label for={`${id}-app-key`}>App key</label>
              <input id={`${id}-app-key`} class="mono" required value={appKey} onInput={event => { setAppKey(event.currentTarget.value) }} />
            </div>
            <div class="field">
              <label for={`${id}-secret`}>Secret</label>
              <input id={`${id}-secret`} type="password" autocomplete="off" required value={secret} onInput={event => { setSecret(event.currentTarget.value) }} />
            </div>
            {!canSignInBrowser() && <p class="message warning">This browser cannot sign here: WebCrypto needs the portal on HTTPS (or localhost).</p>}
          </>
        )}
        {mode === 'jwt' && (
          <div class="field">
            <label for={`${id}-token`}>Access token</label>
            <input id={`${id}-token`} type="password" autocomplete="off" required value={token} onInput={event => { setToken(event.currentTarget.value) }} />
          </div>
        )}
      </fieldset>
      <button type="submit" disabled={busy || (mode === 'hmac' && !canSignInBrowser())}>{busy ? 'Sending…' : 'Send request'}</button>
      <div aria-live="polite">
        {failure !== undefined && <p class="message error" role="alert">{failure}</p>}
        {answer !== undefined && <AnswerView answer={answer} id={id} />}
      </div>
    </form>
  )
}
