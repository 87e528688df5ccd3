// The policies an operator configures per API, in the order they run within their phase.
// A new policy is a folder under src/gateway/policies/ and a line here: the control API
// takes its configuration (validated with its schema) and the chain builder places its unit.
import { corsPolicy } from './cors/index.js'
import type { ApiPolicyDefinition } from './definition.js'
import { responseCachePolicy } from './response-cache/index.js'

export const API_POLICIES: readonly ApiPolicyDefinition[] = [
  corsPolicy,
  responseCachePolicy
]
