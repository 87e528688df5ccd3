// The policies configured per API and per app, in the order they run within their phase.
// A new policy is a folder under src/gateway/policies/ and a line here: the control API
// takes its configuration (validated with its schema) and the chain builder places its unit.
import { corsPolicy } from './cors/index.js'
import type { ApiPolicyDefinition, AppPolicyDefinition } from './definition.js'
import { appIpRestrictionPolicy, ipRestrictionPolicy } from './ip-restriction/index.js'
import { requestLimitsPolicy } from './request-limits/index.js'
import { responseCachePolicy } from './response-cache/index.js'

export const API_POLICIES: readonly ApiPolicyDefinition[] = [
  // CORS first (as in Kong and APISIX): a page on a refused address, or whose call was too
  // large, can still read why
  corsPolicy,
  ipRestrictionPolicy,
  requestLimitsPolicy,
  responseCachePolicy
]

/** Configured per app (App.policies); their units run in every API's chain. */
export const APP_POLICIES: readonly AppPolicyDefinition[] = [
  appIpRestrictionPolicy
]
