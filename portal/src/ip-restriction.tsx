// IP allow and deny lists as the portal and the console edit them: one address or CIDR per
// line. The lists are checked by the API, whose message names the entry it refuses.
import type { JSX } from 'preact'

/** An API's or an app's `ipRestriction`, as the control API takes and shows it. */
export interface IpRestrictionConfig { allow?: string[], deny?: string[] }

/**
 * The entries of a list typed one per line. Commas and spaces separate them too (a pasted
 * "10.0.0.1, 10.0.0.2"): no address, CIDR, origin, header name or media type contains one.
 * Repeats are dropped, as the API refuses a list that has any.
 */
export function listEntries (text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(entry => entry !== ''))]
}

export function listText (entries: readonly string[] | undefined): string {
  return (entries ?? []).join('\n')
}

export interface IpListsDraft { allow: string, deny: string }

export function ipListsDraft (config: IpRestrictionConfig | null): IpListsDraft {
  return { allow: listText(config?.allow), deny: listText(config?.deny) }
}

/** An empty list is left out: no allow list admits every address not denied. */
export function ipRestrictionOf (draft: IpListsDraft): IpRestrictionConfig {
  const allow = listEntries(draft.allow)
  const deny = listEntries(draft.deny)
  return { ...(allow.length > 0 ? { allow } : {}), ...(deny.length > 0 ? { deny } : {}) }
}

export function IpListsFields (props: { draft: IpListsDraft, onChange: (draft: IpListsDraft) => void, idPrefix: string, disabled?: boolean }): JSX.Element {
  const list = (key: keyof IpListsDraft, label: string, hint: string, placeholder: string): JSX.Element => (
    <div class="field">
      <label for={`${props.idPrefix}-${key}`}>{label}</label>
      <textarea
        id={`${props.idPrefix}-${key}`} class="mono" rows={5} spellcheck={false} autoComplete="off" placeholder={placeholder}
        aria-describedby={`${props.idPrefix}-${key}-hint`} disabled={props.disabled} value={props.draft[key]}
        onInput={event => { props.onChange({ ...props.draft, [key]: event.currentTarget.value }) }}
      />
      <p class="hint" id={`${props.idPrefix}-${key}-hint`}>{hint}</p>
    </div>
  )
  return (
    <div class="list-fields">
      {list('allow', 'Allowed addresses', 'One address or CIDR per line. When there are any, only they may call; empty: every address not denied.', '198.51.100.10\n203.0.113.0/24\n2001:db8::/32')}
      {list('deny', 'Denied addresses', 'One address or CIDR per line. Refused even when the allowed addresses include them.', '203.0.113.66')}
    </div>
  )
}
