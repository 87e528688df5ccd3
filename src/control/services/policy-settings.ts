// The configurable policies of an API or an app as control API fields: one field per policy
// of the registry (src/gateway/policies/registry.ts), validated with the policy's own schema,
// stored together in the row's `policies` object.
import { Type } from 'typebox'
import { ValidationError } from '../../domain/errors.js'
import type { PolicySettingDefinition } from '../../gateway/policies/definition.js'

export type StoredPolicies = Record<string, unknown>

/** Request body fields: a configuration replaces the policy's, null removes it. */
export function policyBodyFields (definitions: readonly PolicySettingDefinition[]) {
  return Object.fromEntries(definitions.map(policy => [policy.name, Type.Optional(Type.Union([policy.schema, Type.Null()], { description: policy.description }))]))
}

/** Response fields: each policy's configuration, or null. */
export function policyViewFields (definitions: readonly PolicySettingDefinition[]) {
  return Object.fromEntries(definitions.map(policy => [policy.name, Type.Union([policy.schema, Type.Null()])]))
}

export function policyViews (definitions: readonly PolicySettingDefinition[], stored: unknown): Record<string, unknown> {
  return Object.fromEntries(definitions.map(policy => [policy.name, (stored as StoredPolicies)[policy.name] ?? null]))
}

/**
 * The policies as stored after a create or update, or undefined when the body names none:
 * each policy field given replaces that policy (null removes it), the others stay. A
 * configuration is checked beyond its schema (one that would allow nothing, or too much,
 * is refused) and normalised.
 */
export function policiesToStore (definitions: readonly PolicySettingDefinition[], body: Record<string, unknown>, current: StoredPolicies): StoredPolicies | undefined {
  let policies: StoredPolicies | undefined
  for (const policy of definitions) {
    const config = body[policy.name]
    if (config === undefined) continue
    policies ??= { ...current }
    if (config === null) {
      delete policies[policy.name]
      continue
    }
    const problem = policy.problem?.(config)
    if (problem !== undefined) throw new ValidationError(problem)
    policies[policy.name] = policy.normalise?.(config) ?? config
  }
  return policies
}

/** The request body without the policy fields: the row's own columns. */
export function withoutPolicies<Body extends Record<string, unknown>> (definitions: readonly PolicySettingDefinition[], body: Body): Body {
  const fields = { ...body }
  for (const policy of definitions) delete fields[policy.name]
  return fields
}
