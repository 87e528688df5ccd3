// Pieces the console's pages share: the confirmation dialog every destructive action goes
// through, the signed-in operator's role, and running an action with its busy and error state.
import { createContext, type JSX } from 'preact'
import { useContext, useEffect, useRef, useState } from 'preact/hooks'
import type { ConsoleSession } from './admin-api.js'
export { useAction } from '../components.js'

export const SessionContext = createContext<ConsoleSession | undefined>(undefined)

/** True for viewers: write controls are disabled (and /admin/v1 refuses their writes anyway). */
export function useReadOnly (): boolean {
  return useContext(SessionContext)?.operator.role !== 'admin'
}

interface ConfirmRequest { title: string, message: string, confirmLabel: string, resolve: (confirmed: boolean) => void }
let showConfirm: ((request: ConfirmRequest) => void) | undefined

/** Asks the operator to confirm a destructive action; resolves to their answer. */
export async function confirmAction (title: string, message: string, confirmLabel: string): Promise<boolean> {
  return await new Promise(resolve => {
    if (showConfirm === undefined) resolve(false)
    else showConfirm({ title, message, confirmLabel, resolve })
  })
}

/** Rendered once by the console shell: a modal <dialog> that traps focus and closes on Escape. */
export function ConfirmDialog (): JSX.Element {
  const [request, setRequest] = useState<ConfirmRequest | undefined>(undefined)
  const dialog = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    showConfirm = setRequest
    return () => { showConfirm = undefined }
  }, [])
  useEffect(() => {
    if (request !== undefined && dialog.current?.open === false) dialog.current.showModal()
  }, [request])
  const answer = (confirmed: boolean): void => {
    dialog.current?.close()
    request?.resolve(confirmed)
    setRequest(undefined)
  }
  return (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-message" onCancel={event => { event.preventDefault(); answer(false) }}>
      {request !== undefined && (
        <form method="dialog" onSubmit={event => { event.preventDefault(); answer(true) }}>
          <h2 id="confirm-title">{request.title}</h2>
          <p id="confirm-message">{request.message}</p>
          <div class="button-row">
            <button type="submit" class="danger-solid">{request.confirmLabel}</button>
            <button type="button" class="secondary" autoFocus onClick={() => { answer(false) }}>Cancel</button>
          </div>
        </form>
      )}
    </dialog>
  )
}


/** Runs `action` after the operator confirmed it. */
export function confirmed (title: string, message: string, confirmLabel: string, action: () => Promise<unknown>): () => Promise<unknown> {
  return async () => {
    if (await confirmAction(title, message, confirmLabel)) await action()
  }
}

export function formatNumber (value: number, digits = 0): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function planSummary (plan: { rateLimit: { perSecond: number, burst: number } | null, quota: { perDay: number | null, perMonth: number | null }, maxConnections: number | null }): string {
  const parts = [
    plan.rateLimit === null ? 'no rate limit' : `${plan.rateLimit.perSecond}/s (burst ${plan.rateLimit.burst})`,
    plan.quota.perDay === null ? undefined : `${formatNumber(plan.quota.perDay)}/day`,
    plan.quota.perMonth === null ? undefined : `${formatNumber(plan.quota.perMonth)}/month`,
    plan.maxConnections === null ? undefined : `${plan.maxConnections} connections`
  ]
  return parts.filter(part => part !== undefined).join(', ')
}
