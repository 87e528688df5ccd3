// Small helpers shared by the operator API tests: resources with unique names, and the
// checks every write must pass (one version bump, one audit entry).
import { expect } from 'vitest'
import type { TestControlServer } from '../../helpers/control-server.js'

export const MISSING_ID = '00000000-0000-7000-8000-000000000000'

let counter = 0
export function unique (prefix: string): string {
  counter += 1
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

export async function configVersion (server: TestControlServer): Promise<bigint> {
  return BigInt((await server.call('GET', '/admin/v1/config/version')).body.version)
}

/** Runs one write and checks it bumped the version exactly once and left `action` in the audit log for its target. */
export async function expectAuditedWrite (server: TestControlServer, action: string, write: () => Promise<{ status: number, body: any }>, targetId?: string): Promise<{ status: number, body: any }> {
  const before = await configVersion(server)
  const response = await write()
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(300)
  expect(await configVersion(server)).toBe(before + 1n)
  const id = targetId ?? response.body.id
  const audit = await server.call('GET', `/admin/v1/audit?targetId=${id as string}&limit=1`)
  expect(audit.body.items[0]).toMatchObject({ actor: 'bootstrap', action, targetId: id })
  return response
}

/** Checks a refused request: status, error code, and that nothing was written. */
export async function expectRefused (server: TestControlServer, request: () => Promise<{ status: number, body: any }>, status: number, code: string, message?: string | RegExp): Promise<void> {
  const before = await configVersion(server)
  const response = await request()
  expect({ status: response.status, code: response.body?.error?.code }, JSON.stringify(response.body)).toEqual({ status, code })
  if (message !== undefined) expect(response.body.error.message).toMatch(message)
  expect(await configVersion(server)).toBe(before)
}

/** Reads every page of a list with the given page size and returns the ids in order. */
export async function readAllPages (server: TestControlServer, path: string, limit: number): Promise<{ ids: string[], pages: number }> {
  const ids: string[] = []
  let cursor: string | null = null
  let pages = 0
  const separator = path.includes('?') ? '&' : '?'
  do {
    const response: { status: number, body: any } = await server.call('GET', `${path}${separator}limit=${limit}${cursor !== null ? `&cursor=${cursor}` : ''}`)
    expect(response.status).toBe(200)
    expect(response.body.items.length).toBeLessThanOrEqual(limit)
    ids.push(...response.body.items.map((item: { id: string }) => item.id))
    cursor = response.body.nextCursor
    pages += 1
  } while (cursor !== null && pages < 100)
  return { ids, pages }
}

export async function createUpstream (server: TestControlServer, body: Record<string, unknown> = {}): Promise<any> {
  const response = await server.call('POST', '/admin/v1/upstreams', { name: unique('upstream'), targets: [{ url: 'http://127.0.0.1:9000' }], ...body })
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return response.body
}

export async function createPlan (server: TestControlServer, body: Record<string, unknown> = {}): Promise<any> {
  const response = await server.call('POST', '/admin/v1/plans', { name: unique('plan'), ...body })
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return response.body
}

export async function createApi (server: TestControlServer, body: Record<string, unknown> = {}): Promise<any> {
  const upstreamId = body.upstreamId ?? (await createUpstream(server)).id
  const response = await server.call('POST', '/admin/v1/apis', { name: unique('api'), upstreamId, auth: ['apikey'], routes: [{ path: `/${unique('r')}` }], ...body })
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return response.body
}

export async function createApp (server: TestControlServer): Promise<any> {
  const partner = await server.call('POST', '/admin/v1/partners', { name: unique('partner') })
  const app = await server.call('POST', `/admin/v1/partners/${partner.body.id as string}/apps`, { name: 'app' })
  expect(app.status).toBe(201)
  return app.body
}
