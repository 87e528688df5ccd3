// Permission: the authenticated app must be active (and so must its partner)
// and hold an approved grant for the route's API.
import { AppSuspendedError, NotGrantedError, UnknownKeyError } from '../../../domain/errors.js'
import type { SnapshotApi, SnapshotApp } from '../../../store/config-snapshot.js'
import { grantKey, type CompiledGrant, type GatewaySnapshot } from '../../snapshot/compile.js'

export function checkPermission (snapshot: GatewaySnapshot, appId: string, api: SnapshotApi): { app: SnapshotApp, grant: CompiledGrant } {
  const app = snapshot.apps.get(appId)
  if (app === undefined) throw new UnknownKeyError()
  if (app.status !== 'active') throw new AppSuspendedError()
  const grant = snapshot.grants.get(grantKey(app.id, api.id))
  if (grant === undefined) throw new NotGrantedError(api.name)
  return { app, grant }
}
