// The IP restriction units, HTTP and WebSocket alike. An API's list refuses before any
// credential is read, so refused addresses cost no signature check, nonce or token
// verification; an app's list (a partner locking its key to its servers) runs once
// permission knows the app, before anything is counted against its limits. Both judge open
// WebSockets again when their list changes: a list that no longer admits the address closes them.
import { IpNotAllowedError } from '../../../domain/errors.js'
import type { SnapshotApp } from '../../../store/config-snapshot.js'
import type { ApiPolicyDefinition, AppPolicyDefinition } from '../definition.js'
import type { ConnectionRefusal, OpenConnection, PolicyContext, PolicyUnit } from '../chain.js'
import { IpRestriction, IpRestrictionConfig, ipRestrictionProblem } from './ip-restriction.js'

const NAME = 'ipRestriction'
const LABEL = 'ip_not_allowed'
const REFUSED_BY_API: ConnectionRefusal = { reason: 'client address not allowed by the API', label: LABEL }
const REFUSED_BY_APP: ConnectionRefusal = { reason: 'client address not allowed by the app', label: LABEL }

export const ipRestrictionPolicy: ApiPolicyDefinition<IpRestrictionConfig> = {
  name: NAME,
  schema: IpRestrictionConfig,
  description: 'client addresses that may (allow) or may not (deny) call the API; null or absent = any',
  phase: 'before-authentication',
  problem: ipRestrictionProblem,
  compile (config, api) {
    if (config === undefined) return undefined
    const restriction = new IpRestriction(config)
    const subject = `the API ${api.name}`
    return {
      name: 'ip-restriction',
      access (context) {
        const address = context.clientAddress()
        if (!restriction.admits(address)) throw new IpNotAllowedError(address, subject)
      },
      recheckOpenConnection: connection => restriction.admits(connection.clientAddress) ? undefined : REFUSED_BY_API
    }
  }
}

// compiled once per stored configuration: a changed app brings a new object, and the old one's entry goes with it
const compiledForApps = new WeakMap<IpRestrictionConfig, IpRestriction>()

function appRestriction (config: IpRestrictionConfig): IpRestriction {
  let restriction = compiledForApps.get(config)
  if (restriction === undefined) {
    restriction = new IpRestriction(config)
    compiledForApps.set(config, restriction)
  }
  return restriction
}

const appUnit: PolicyUnit = {
  name: 'app-ip-restriction',
  access (context: PolicyContext) {
    const app = context.app as SnapshotApp
    // most apps have no policies at all: one property read
    const config = app.policies?.[NAME] as IpRestrictionConfig | undefined
    if (config === undefined) return
    const address = context.clientAddress()
    if (!appRestriction(config).admits(address)) throw new IpNotAllowedError(address, `the app ${app.name}`)
  },
  recheckOpenConnection ({ app, clientAddress }: OpenConnection) {
    const config = app.policies?.[NAME] as IpRestrictionConfig | undefined
    if (config === undefined) return undefined
    return appRestriction(config).admits(clientAddress) ? undefined : REFUSED_BY_APP
  }
}

export const appIpRestrictionPolicy: AppPolicyDefinition<IpRestrictionConfig> = {
  name: NAME,
  schema: IpRestrictionConfig,
  description: "client addresses that may (allow) or may not (deny) call with the app's credentials; null or absent = any",
  phase: 'after-permission',
  problem: ipRestrictionProblem,
  compile: () => appUnit
}
