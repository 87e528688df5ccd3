// The audit log: who changed what, filtered by actor, target and time, newest first.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { Empty, ErrorMessage, formatDate, Heading, Loading } from '../../components.js'
import { adminApi, type AuditEntry } from '../admin-api.js'
import { useAction } from '../ui.js'

interface Filters { actor: string, targetType: string, targetId: string, from: string, to: string }
const NO_FILTERS: Filters = { actor: '', targetType: '', targetId: '', from: '', to: '' }
const TARGET_TYPES = ['partner', 'app', 'grant', 'api', 'upstream', 'plan', 'operator', 'admin-token', 'signing-key', 'settings']

function query (filters: Filters, cursor: string | null): string {
  const parameters = new URLSearchParams({ limit: '50' })
  if (filters.actor.trim() !== '') parameters.set('actor', filters.actor.trim())
  if (filters.targetType !== '') parameters.set('targetType', filters.targetType)
  if (filters.targetId.trim() !== '') parameters.set('targetId', filters.targetId.trim())
  // datetime-local is in the browser's time zone; the API takes an instant
  if (filters.from !== '') parameters.set('from', new Date(filters.from).toISOString())
  if (filters.to !== '') parameters.set('to', new Date(filters.to).toISOString())
  if (cursor !== null) parameters.set('cursor', cursor)
  return `/audit?${parameters.toString()}`
}

export function AuditPage (): JSX.Element {
  const [form, setForm] = useState<Filters>(NO_FILTERS)
  const [entries, setEntries] = useState<AuditEntry[] | undefined>(undefined)
  const [cursor, setCursor] = useState<string | null>(null)
  const action = useAction()
  const load = (filters: Filters, after: string | null): void => {
    action.run(async () => {
      const page = await adminApi<{ items: AuditEntry[], nextCursor: string | null }>('GET', query(filters, after))
      setEntries(previous => after === null ? page.items : [...(previous ?? []), ...page.items])
      setCursor(page.nextCursor)
    })
  }
  const [applied, setApplied] = useState<Filters>(NO_FILTERS)
  useEffect(() => { load(NO_FILTERS, null) }, [])
  const field = (key: keyof Filters, label: string, type: 'text' | 'datetime-local' = 'text'): JSX.Element => (
    <div class="field">
      <label for={`audit-${key}`}>{label}</label>
      {type === 'text'
        ? <input id={`audit-${key}`} value={form[key]} onInput={event => { setForm({ ...form, [key]: event.currentTarget.value }) }} />
        : <input id={`audit-${key}`} type="datetime-local" value={form[key]} onInput={event => { setForm({ ...form, [key]: event.currentTarget.value }) }} />}
    </div>
  )
  return (
    <>
      <Heading>Audit log</Heading>
      <form class="inline-form card" role="search" onSubmit={event => { event.preventDefault(); setApplied(form); load(form, null) }}>
        {field('actor', 'Actor (operator email, token name or cli)')}
        <div class="field">
          <label for="audit-targetType">Target type</label>
          <select id="audit-targetType" value={form.targetType} onChange={event => { setForm({ ...form, targetType: event.currentTarget.value }) }}>
            <option value="">any</option>{TARGET_TYPES.map(type => <option key={type} value={type}>{type}</option>)}
          </select>
        </div>
        {field('targetId', 'Target id')}
        {field('from', 'From', 'datetime-local')}
        {field('to', 'Until', 'datetime-local')}
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={action.error} />
      {entries === undefined && <Loading />}
      {entries?.length === 0 && <Empty title="No entries match" />}
      {entries !== undefined && entries.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <caption class="visually-hidden">Audit entries</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
            <tbody>
              {entries.map(entry => (
                <tr key={entry.id}>
                  <td>{formatDate(entry.createdAt)}</td>
                  <td>{entry.actor}</td>
                  <td class="mono">{entry.action}</td>
                  <td>{entry.targetType}<br /><span class="mono small-text">{entry.targetId ?? ''}</span></td>
                  <td class="mono small-text details">{entry.details === null ? '' : JSON.stringify(entry.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor !== null && <button type="button" class="secondary" disabled={action.busy} onClick={() => { load(applied, cursor) }}>Show older entries</button>}
    </>
  )
}
