// One configurable policy of an API or an app as the console shows it: what it is set to,
// a form to change it and a button to remove it. A save sends that policy alone in one
// PATCH, which the operator API stores whole or refuses whole; on a refusal the form stays
// as the operator typed it, with the API's message under it.
import type { ComponentChildren, JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ErrorMessage } from '../components.js'
import { ipListsDraft, IpListsFields, ipRestrictionOf, type IpListsDraft, type IpRestrictionConfig } from '../ip-restriction.js'
import { confirmed, useAction, useReadOnly } from './ui.js'

export interface PolicyScreen<Config, Draft> {
  /** the policy's field in the operator API */
  name: string
  title: string
  /** the policy in a sentence: "the request limits" */
  noun: string
  /** what holds while the policy is not set */
  unset: string
  /** what removing it changes, asked before it is done */
  removal: string
  summary: (config: Config) => Array<[string, ComponentChildren]>
  /** the form's state for a configuration (null: a new one) */
  draft: (config: Config | null) => Draft
  config: (draft: Draft) => Config
  /** a function made once, not per render: a new component type would remount the form and lose the focus */
  Fields: (props: { draft: Draft, onChange: (draft: Draft) => void, idPrefix: string }) => JSX.Element
}

/** A list of entries as small code chips; `empty` when there are none. */
export function Entries (props: { entries: readonly string[] | undefined, empty: string }): JSX.Element {
  if (props.entries === undefined || props.entries.length === 0) return <>{props.empty}</>
  return <ul class="entries">{props.entries.map(entry => <li key={entry}><code>{entry}</code></li>)}</ul>
}

export function PolicyCard<Config, Draft> (props: { screen: PolicyScreen<Config, Draft>, config: Config | null, subject: string, save: (config: Config | null) => Promise<void> }): JSX.Element {
  const { screen, config } = props
  const readOnly = useReadOnly()
  const [draft, setDraft] = useState<Draft | undefined>(undefined)
  const action = useAction()
  const titleId = `policy-${screen.name}-title`
  const edit = (): void => {
    action.clear()
    setDraft(screen.draft(config))
  }
  const submit = (event: Event): void => {
    event.preventDefault()
    if (draft === undefined) return
    action.run(async () => {
      await props.save(screen.config(draft))
      setDraft(undefined)
    })
  }
  const remove = (): void => {
    action.run(confirmed(`Remove ${screen.noun} of ${props.subject}?`, screen.removal, `Remove ${screen.noun}`, async () => { await props.save(null) }))
  }
  return (
    <section class="card policy" aria-labelledby={titleId} data-policy={screen.name}>
      <div class="policy-head">
        <h3 id={titleId}>{screen.title} <span class={`badge badge-${config === null ? 'unset' : 'set'}`}>{config === null ? 'not set' : 'on'}</span></h3>
        {draft === undefined && (
          <div class="button-row">
            <button type="button" class="secondary small" disabled={readOnly} onClick={edit}>{config === null ? 'Set up' : 'Edit'}<span class="visually-hidden"> {screen.title}</span></button>
            {config !== null && <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={remove}>Remove<span class="visually-hidden"> {screen.title}</span></button>}
          </div>
        )}
      </div>
      {draft === undefined && config === null && <p class="muted policy-unset">{screen.unset}</p>}
      {draft === undefined && config !== null && (
        <dl class="policy-summary">
          {screen.summary(config).map(([term, description]) => [<dt key={`${term}-term`}>{term}</dt>, <dd key={`${term}-value`}>{description}</dd>])}
        </dl>
      )}
      {draft !== undefined && (
        <form class="policy-form" aria-label={`${screen.title} settings`} onSubmit={submit}>
          <screen.Fields draft={draft} onChange={setDraft} idPrefix={`policy-${screen.name}`} />
          <div class="button-row">
            <button type="submit" disabled={readOnly || action.busy}>Save<span class="visually-hidden"> {screen.title}</span></button>
            <button type="button" class="secondary" disabled={action.busy} onClick={() => { action.clear(); setDraft(undefined) }}>Cancel</button>
          </div>
          <ErrorMessage error={action.error} />
        </form>
      )}
      {draft === undefined && <ErrorMessage error={action.error} />}
    </section>
  )
}

function ipRestrictionScreen (unset: string, removal: string): PolicyScreen<IpRestrictionConfig, IpListsDraft> {
  return {
    name: 'ipRestriction',
    title: 'IP restriction',
    noun: 'the IP restriction',
    unset,
    removal,
    summary: config => [
      ['Allowed', <Entries entries={config.allow} empty="every address not denied" />],
      ['Denied', <Entries entries={config.deny} empty="none" />]
    ],
    draft: ipListsDraft,
    config: ipRestrictionOf,
    Fields: IpListsFields
  }
}

export const API_IP_RESTRICTION = ipRestrictionScreen('Every address may call the API.', 'Every address may call the API again once the gateways have the change (about a second).')
export const APP_IP_RESTRICTION = ipRestrictionScreen("The app's credentials work from every address.", "The app's credentials work from every address again once the gateways have the change (about a second).")
