// Plans: rate limit with burst, daily and monthly quotas, connection cap; create, edit, delete.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { Empty, ErrorMessage, Heading, Loading, useLoad } from '../../components.js'
import { adminApi, allPages, type Plan } from '../admin-api.js'
import { confirmed, formatNumber, useAction, useReadOnly } from '../ui.js'

interface PlanForm { name: string, perSecond: string, burst: string, perDay: string, perMonth: string, maxConnections: string }

const EMPTY: PlanForm = { name: '', perSecond: '', burst: '', perDay: '', perMonth: '', maxConnections: '' }

function toForm (plan: Plan): PlanForm {
  const text = (value: number | null | undefined): string => value === null || value === undefined ? '' : String(value)
  return { name: plan.name, perSecond: text(plan.rateLimit?.perSecond), burst: text(plan.rateLimit?.burst), perDay: text(plan.quota.perDay), perMonth: text(plan.quota.perMonth), maxConnections: text(plan.maxConnections) }
}

/** The API's plan body: an empty field means "no limit". */
function toBody (form: PlanForm): Record<string, unknown> {
  const number = (value: string): number | null => value.trim() === '' ? null : Number(value)
  const perSecond = number(form.perSecond)
  const burst = number(form.burst)
  return {
    name: form.name.trim(),
    rateLimit: perSecond === null ? null : { perSecond, ...(burst !== null ? { burst } : {}) },
    quota: { perDay: number(form.perDay), perMonth: number(form.perMonth) },
    maxConnections: number(form.maxConnections)
  }
}

function PlanFields (props: { form: PlanForm, setForm: (form: PlanForm) => void, idPrefix: string }): JSX.Element {
  const field = (key: keyof PlanForm, label: string, hint?: string): JSX.Element => (
    <div class="field">
      <label for={`${props.idPrefix}-${key}`}>{label}</label>
      {key === 'name'
        ? <input id={`${props.idPrefix}-${key}`} required maxLength={200} value={props.form[key]} onInput={event => { props.setForm({ ...props.form, [key]: event.currentTarget.value }) }} />
        : <input id={`${props.idPrefix}-${key}`} type="number" min={1} placeholder={hint} value={props.form[key]} onInput={event => { props.setForm({ ...props.form, [key]: event.currentTarget.value }) }} />}
    </div>
  )
  return (
    <>
      {field('name', 'Name')}
      {field('perSecond', 'Requests per second', 'no limit')}
      {field('burst', 'Burst', 'same as per second')}
      {field('perDay', 'Quota per day', 'no quota')}
      {field('perMonth', 'Quota per month', 'no quota')}
      {field('maxConnections', 'WebSocket connections', 'no cap')}
    </>
  )
}

function PlanRow (props: { plan: Plan, onChange: () => void }): JSX.Element {
  const readOnly = useReadOnly()
  const [editing, setEditing] = useState<PlanForm | undefined>(undefined)
  const action = useAction()
  const { plan } = props
  const limit = (value: number | null): string => value === null ? '—' : formatNumber(value)
  if (editing !== undefined) {
    return (
      <tr>
        <td colSpan={7}>
          <form class="inline-form plan-form" onSubmit={event => { event.preventDefault(); action.run(async () => { await adminApi('PATCH', `/plans/${plan.id}`, toBody(editing)); setEditing(undefined); props.onChange() }) }}>
            <PlanFields form={editing} setForm={setEditing} idPrefix={`edit-${plan.id}`} />
            <button type="submit" disabled={readOnly || action.busy}>Save plan</button>
            <button type="button" class="secondary" onClick={() => { setEditing(undefined) }}>Cancel</button>
          </form>
          <ErrorMessage error={action.error} />
        </td>
      </tr>
    )
  }
  return (
    <tr data-plan={plan.name}>
      <th scope="row">{plan.name}</th>
      <td>{plan.rateLimit === null ? '—' : `${formatNumber(plan.rateLimit.perSecond)}/s, burst ${formatNumber(plan.rateLimit.burst)}`}</td>
      <td>{limit(plan.quota.perDay)}</td>
      <td>{limit(plan.quota.perMonth)}</td>
      <td>{limit(plan.maxConnections)}</td>
      <td class="button-row">
        <button type="button" class="secondary small" disabled={readOnly} onClick={() => { setEditing(toForm(plan)) }}>Edit<span class="visually-hidden"> {plan.name}</span></button>
        <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={() => { action.run(confirmed(`Delete the plan ${plan.name}?`, 'Only a plan no grant uses can be deleted.', 'Delete plan', async () => { await adminApi('DELETE', `/plans/${plan.id}`); props.onChange() })) }}>Delete<span class="visually-hidden"> {plan.name}</span></button>
        <ErrorMessage error={action.error} />
      </td>
    </tr>
  )
}

export function PlansPage (): JSX.Element {
  const readOnly = useReadOnly()
  const plans = useLoad(async () => await allPages<Plan>('/plans'), [])
  const [form, setForm] = useState<PlanForm>(EMPTY)
  const create = useAction()
  return (
    <>
      <Heading>Plans</Heading>
      <p class="lead">A plan is what a grant allows. Changes apply to every grant on the plan at once.</p>
      <ErrorMessage error={plans.error} />
      {plans.data === undefined && plans.error === undefined && <Loading />}
      {plans.data?.length === 0 && <Empty title="No plans yet" />}
      {plans.data !== undefined && plans.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Plans</caption>
            <thead><tr><th scope="col">Plan</th><th scope="col">Rate limit</th><th scope="col">Per day</th><th scope="col">Per month</th><th scope="col">Connections</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>{plans.data.map(plan => <PlanRow key={plan.id} plan={plan} onChange={plans.reload} />)}</tbody>
          </table>
        </div>
      )}
      <h2>New plan</h2>
      <form class="inline-form card plan-form" onSubmit={event => { event.preventDefault(); create.run(async () => { await adminApi('POST', '/plans', toBody(form)); setForm(EMPTY); plans.reload() }) }}>
        <PlanFields form={form} setForm={setForm} idPrefix="new-plan" />
        <button type="submit" disabled={readOnly || create.busy}>Create plan</button>
      </form>
      <ErrorMessage error={create.error} />
    </>
  )
}
