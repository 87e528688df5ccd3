// The IP restriction units against a context: the API's unit refuses before any credential
// is looked at, the app's reads the app's own list and leaves apps without one alone. Both
// judge an open connection again by the address its upgrade came from.
import { describe, expect, it } from 'vitest'
import type { OpenConnection, PolicyContext } from '../../../../../src/gateway/policies/chain.js'
import type { ChainServices } from '../../../../../src/gateway/policies/definition.js'
import { appIpRestrictionPolicy, ipRestrictionPolicy } from '../../../../../src/gateway/policies/ip-restriction/index.js'
import type { CompiledApi, CompiledGrant, GatewaySnapshot } from '../../../../../src/gateway/snapshot/compile.js'
import type { SnapshotApp } from '../../../../../src/store/config-snapshot.js'

const api = { id: 'api-1', name: 'orders', upstreamId: 'up-1', auth: ['apikey'], authModes: new Set(['apikey']), policies: {} } as CompiledApi
const snapshot = {} as GatewaySnapshot
const services = {} as ChainServices

function context (address: string, app?: SnapshotApp): PolicyContext & { addressReads: number } {
  const result = { app, addressReads: 0, clientAddress () { result.addressReads++; return address } }
  return result as unknown as PolicyContext & { addressReads: number }
}

const shop: SnapshotApp = { id: 'app-1', partnerId: 'p-1', name: 'shop', status: 'active' }

function openConnection (clientAddress: string, app: SnapshotApp = shop): OpenConnection {
  return { clientAddress, snapshot, api, app, grant: {} as CompiledGrant }
}

function refusal (run: () => void): unknown {
  try {
    run()
  } catch (error) {
    const { code, statusCode, message } = error as { code: string, statusCode: number, message: string }
    return { code, statusCode, message }
  }
  return undefined
}

describe('IP restriction units', () => {
  it('compiles no unit for an API without a restriction', () => {
    expect(ipRestrictionPolicy.compile(undefined, api, snapshot, services)).toBeUndefined()
  })

  it("refuses an address outside the API's list with 403 IP_NOT_ALLOWED naming it", () => {
    const unit = ipRestrictionPolicy.compile({ allow: ['10.0.0.0/8'] }, api, snapshot, services)
    expect(unit?.name).toBe('ip-restriction')
    expect(refusal(() => unit?.access(context('10.1.2.3')))).toBeUndefined()
    expect(refusal(() => unit?.access(context('192.0.2.1')))).toEqual({ code: 'IP_NOT_ALLOWED', statusCode: 403, message: 'Calls from 192.0.2.1 are not allowed by the IP restriction of the API orders' })
  })

  it('gives every API the app unit, which reads no address for an app without a list', () => {
    const unit = appIpRestrictionPolicy.compile(api, snapshot, services)
    expect(unit?.name).toBe('app-ip-restriction')
    const free = context('192.0.2.1', { id: 'app-1', partnerId: 'p-1', name: 'shop', status: 'active' })
    unit?.access(free)
    expect(free.addressReads).toBe(0)
  })

  it("refuses an address outside the app's own list, and follows a changed list", () => {
    const unit = appIpRestrictionPolicy.compile(api, snapshot, services)
    const locked: SnapshotApp = { id: 'app-1', partnerId: 'p-1', name: 'shop', status: 'active', policies: { ipRestriction: { allow: ['203.0.113.0/24'], deny: ['203.0.113.9'] } } }
    expect(refusal(() => unit?.access(context('203.0.113.7', locked)))).toBeUndefined()
    expect(refusal(() => unit?.access(context('203.0.113.9', locked)))).toEqual({ code: 'IP_NOT_ALLOWED', statusCode: 403, message: 'Calls from 203.0.113.9 are not allowed by the IP restriction of the app shop' })
    expect(refusal(() => unit?.access(context('198.51.100.1', locked)))).toMatchObject({ code: 'IP_NOT_ALLOWED' })
    // a changed app is a new object in the next snapshot
    const moved: SnapshotApp = { ...locked, policies: { ipRestriction: { allow: ['198.51.100.0/24'] } } }
    expect(refusal(() => unit?.access(context('198.51.100.1', moved)))).toBeUndefined()
    expect(refusal(() => unit?.access(context('203.0.113.7', moved)))).toMatchObject({ code: 'IP_NOT_ALLOWED' })
  })

  it("closes an open connection whose address the API's current list no longer admits", () => {
    const unit = ipRestrictionPolicy.compile({ allow: ['10.0.0.0/8'], deny: ['10.0.0.66'] }, api, snapshot, services)
    expect(unit?.recheckOpenConnection?.(openConnection('10.1.2.3'))).toBeUndefined()
    expect(unit?.recheckOpenConnection?.(openConnection('10.0.0.66'))).toEqual({ reason: 'client address not allowed by the API', label: 'ip_not_allowed' })
    expect(unit?.recheckOpenConnection?.(openConnection('::ffff:192.0.2.1'))).toEqual({ reason: 'client address not allowed by the API', label: 'ip_not_allowed' })
  })

  it("closes an open connection whose address the app's current list no longer admits, and keeps those of apps without a list", () => {
    const unit = appIpRestrictionPolicy.compile(api, snapshot, services)
    expect(unit?.recheckOpenConnection?.(openConnection('192.0.2.1'))).toBeUndefined()
    const locked: SnapshotApp = { ...shop, policies: { ipRestriction: { allow: ['203.0.113.0/24'] } } }
    expect(unit?.recheckOpenConnection?.(openConnection('203.0.113.7', locked))).toBeUndefined()
    expect(unit?.recheckOpenConnection?.(openConnection('192.0.2.1', locked))).toEqual({ reason: 'client address not allowed by the app', label: 'ip_not_allowed' })
  })
})
