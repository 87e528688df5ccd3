// Small shared pieces: links, messages, copy buttons and the shown-once secret panel.
import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from './api.js'
import { BASE, navigate } from './router.js'

export function Link (props: { to: string, children: ComponentChildren, class?: string, 'aria-current'?: 'page' | undefined }): JSX.Element {
  const onClick = (event: MouseEvent): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(props.to)
  }
  return <a href={BASE + props.to} class={props.class} aria-current={props['aria-current']} onClick={onClick}>{props.children}</a>
}

export function errorText (error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'TOO_MANY_LOGIN_ATTEMPTS' && error.retryAfter !== undefined) return `Too many failed attempts. Try again in ${Math.ceil(error.retryAfter / 60)} minute(s).`
    return error.message
  }
  return error instanceof Error ? error.message : String(error)
}

export function ErrorMessage (props: { error: unknown }): JSX.Element | null {
  if (props.error === undefined || props.error === null) return null
  return <p class="message error" role="alert">{errorText(props.error)}</p>
}

export function Notice (props: { children: ComponentChildren, kind?: 'info' | 'success' | 'warning' }): JSX.Element {
  return <div class={`message ${props.kind ?? 'info'}`} role="status">{props.children}</div>
}

export function Empty (props: { title: string, children?: ComponentChildren }): JSX.Element {
  return <div class="empty"><p class="empty-title">{props.title}</p>{props.children}</div>
}

export function Loading (): JSX.Element {
  return <p class="loading" role="status" aria-live="polite">Loading…</p>
}

export function Heading (props: { children: ComponentChildren }): JSX.Element {
  // focused on every page change, so that keyboard and screen-reader users start at the top
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => { ref.current?.focus() }, [])
  return <h1 tabIndex={-1} ref={ref}>{props.children}</h1>
}

async function copyText (text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
  } catch {
    const area = document.createElement('textarea')
    area.value = text
    document.body.append(area)
    area.select()
    document.execCommand('copy')
    area.remove()
  }
}

export function CopyButton (props: { text: string, label: string }): JSX.Element {
  const [copied, setCopied] = useState(false)
  return (
    <button type="button" class="secondary small" aria-label={`Copy ${props.label}`} onClick={() => { void copyText(props.text).then(() => { setCopied(true); setTimeout(() => { setCopied(false) }, 2000) }) }}>
      {copied ? 'Copied' : 'Copy'}
      <span class="visually-hidden" aria-live="polite">{copied ? `${props.label} copied to the clipboard` : ''}</span>
    </button>
  )
}

export function SecretValue (props: { label: string, value: string, id: string }): JSX.Element {
  return (
    <div class="secret-row">
      <label for={props.id}>{props.label}</label>
      <div class="secret-field">
        <input id={props.id} readOnly value={props.value} class="mono" onFocus={event => { (event.currentTarget).select() }} />
        <CopyButton text={props.value} label={props.label} />
      </div>
    </div>
  )
}

/** The new key, secret and API key, shown once: nothing can show the secret again. */
export function SecretPanel (props: { secret: { key: string, secret: string, apiKey: string }, onDone: () => void }): JSX.Element {
  const ref = useRef<HTMLElement>(null)
  useEffect(() => { ref.current?.focus() }, [])
  return (
    <section class="secret-panel" aria-labelledby="secret-title" tabIndex={-1} ref={ref}>
      <h2 id="secret-title">Your new credentials</h2>
      <p class="warning-text"><strong>Copy the secret and the API key now.</strong> They are shown only this once and cannot be shown again; if you lose them, rotate the credential.</p>
      <SecretValue id="new-key" label="App key" value={props.secret.key} />
      <SecretValue id="new-secret" label="Secret" value={props.secret.secret} />
      <SecretValue id="new-api-key" label="API key" value={props.secret.apiKey} />
      <button type="button" onClick={props.onDone}>I have stored them safely</button>
    </section>
  )
}

export function formatDate (iso: string | null): string {
  if (iso === null) return '—'
  return new Date(iso).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
}

export function StatusBadge (props: { status: string }): JSX.Element {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>
}

export function useLoad<T> (load: () => Promise<T>, deps: unknown[]): { data: T | undefined, error: unknown, reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setError(undefined)
    load().then(value => { if (live) setData(value) }, (failure: unknown) => { if (live) setError(failure) })
    return () => { live = false }
  }, [...deps, tick])
  return { data, error, reload: () => { setTick(value => value + 1) } }
}

/** A button's action: busy while it runs, its error kept for display until the next run (or clear()). */
export function useAction (): { busy: boolean, error: unknown, run: (action: () => Promise<unknown>) => void, clear: () => void } {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  return {
    busy,
    error,
    run (action) {
      setBusy(true)
      setError(undefined)
      action().catch(setError).finally(() => { setBusy(false) })
    },
    clear () { setError(undefined) }
  }
}
