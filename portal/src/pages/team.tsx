// The partner's team: members with their roles and pending invitations. Admins invite,
// change roles and remove; developers see who is on the team.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, type Me, type Member, type PartnerRole, type SentInvitation, type Team } from '../api.js'
import { ErrorMessage, formatDate, Heading, Loading, Notice, StatusBadge, useLoad } from '../components.js'
import { DELIVERY_TEXT } from './account-links.js'

const ROLES: Array<[PartnerRole, string]> = [['developer', 'Developer'], ['admin', 'Admin']]

function RoleSelect (props: { id: string, label: string, value: PartnerRole, onChange: (role: PartnerRole) => void, disabled?: boolean }): JSX.Element {
  return (
    <select id={props.id} aria-label={props.label} value={props.value} disabled={props.disabled} onChange={event => { props.onChange(event.currentTarget.value as PartnerRole) }}>
      {ROLES.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
    </select>
  )
}

function InviteForm (props: { onInvited: (invitation: SentInvitation) => void }): JSX.Element {
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<PartnerRole>('developer')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const submit = (event: Event): void => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    api<SentInvitation>('POST', '/team/invitations', { email: email.trim(), role }).then(invitation => { setEmail(''); props.onInvited(invitation) }, setError).finally(() => { setBusy(false) })
  }
  return (
    <form class="inline-form card" onSubmit={submit} aria-labelledby="invite-title">
      <h2 id="invite-title" class="visually-hidden">Invite a member</h2>
      <div class="field">
        <label for="invite-email">Email to invite</label>
        <input id="invite-email" type="email" required autoComplete="off" value={email} onInput={event => { setEmail(event.currentTarget.value) }} />
      </div>
      <div class="field role-field">
        <label for="invite-role">Role</label>
        <RoleSelect id="invite-role" label="Role" value={role} onChange={setRole} />
      </div>
      <button type="submit" disabled={busy || email.trim() === ''}>{busy ? 'Inviting…' : 'Send invitation'}</button>
      <ErrorMessage error={error} />
    </form>
  )
}

export function TeamPage (props: { me: Me }): JSX.Element {
  const isAdmin = props.me.user.role === 'admin'
  const team = useLoad(async () => await api<Team>('GET', '/team'), [])
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)

  const act = (change: () => Promise<unknown>, done: string): void => {
    setError(undefined)
    setNotice(undefined)
    change().then(() => { setNotice(done); team.reload() }, setError)
  }
  const changeRole = (member: Member, role: PartnerRole): void => {
    act(async () => await api('PATCH', `/team/members/${member.id}`, { role }), `${member.email} is now ${role === 'admin' ? 'an admin' : 'a developer'}.`)
  }
  const remove = (member: Member): void => {
    if (!confirm(`Remove ${member.email} from the team? Their sessions end at once.`)) return
    act(async () => await api('DELETE', `/team/members/${member.id}`), `${member.email} was removed from the team.`)
  }

  return (
    <>
      <Heading>Team</Heading>
      <p class="lead">Admins manage everything, the team included. Developers manage apps, credentials and access requests and see usage.</p>
      {isAdmin
        ? <InviteForm onInvited={invitation => { setError(undefined); setNotice(`Invitation sent to ${invitation.email}. ${DELIVERY_TEXT[invitation.delivery]}`); team.reload() }} />
        : <Notice>Only admins of {props.me.partner.name} can invite, change or remove members.</Notice>}
      {notice !== undefined && <Notice kind="success">{notice}</Notice>}
      <ErrorMessage error={error ?? team.error} />
      {team.data === undefined && team.error === undefined && <Loading />}
      {team.data !== undefined && (
        <>
          <h2>Members</h2>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Members</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Last login</th>{isAdmin && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
              <tbody>
                {team.data.members.map(member => (
                  <tr key={member.id} data-email={member.email}>
                    <td>{member.name ?? '—'}{member.id === props.me.user.id && <span class="muted"> (you)</span>}</td>
                    <td>{member.email}{!member.emailVerified && <> <StatusBadge status="unverified" /></>}</td>
                    <td>{isAdmin ? <RoleSelect id={`role-${member.id}`} label={`Role of ${member.email}`} value={member.role} onChange={role => { changeRole(member, role) }} /> : member.role}</td>
                    <td>{formatDate(member.lastLoginAt)}</td>
                    {isAdmin && <td><button type="button" class="danger small" aria-label={`Remove ${member.email}`} onClick={() => { remove(member) }}>Remove</button></td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Invitations</h2>
          {team.data.invitations.length === 0
            ? <p class="muted">No pending invitations.</p>
            : (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Pending invitations</caption>
                  <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires</th>{isAdmin && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
                  <tbody>
                    {team.data.invitations.map(invitation => (
                      <tr key={invitation.id}>
                        <td>{invitation.email}</td>
                        <td>{invitation.role}</td>
                        <td>{invitation.expired ? <StatusBadge status="expired" /> : formatDate(invitation.expiresAt)}</td>
                        {isAdmin && <td><button type="button" class="secondary small" aria-label={`Withdraw the invitation of ${invitation.email}`} onClick={() => { act(async () => await api('DELETE', `/team/invitations/${invitation.id}`), `The invitation of ${invitation.email} was withdrawn.`) }}>Withdraw</button></td>}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              )}
        </>
      )}
    </>
  )
}
