// The permission unit: the authenticated app must be active and hold a grant for the API.
import type { PolicyContext, PolicyUnit } from '../chain.js'
import { checkPermission } from './permission.js'

export const permissionUnit: PolicyUnit = {
  name: 'permission',
  access (context: PolicyContext) {
    const { app, grant } = checkPermission(context.snapshot, context.appId as string, context.api)
    context.app = app
    context.grant = grant
  }
}
